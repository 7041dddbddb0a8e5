use actix_web::{HttpResponse, http::header::ContentType};

/// Where the one stylesheet is served. Same origin, so `style-src 'self'` allows it.
pub const STYLESHEET_PATH: &str = "/static/style.css";

const STYLE_CSS: &str = include_str!("../static/style.css");

/// Serves the stylesheet. No validators (see the headers middleware); it is small.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(mime_css()))
        .body(STYLE_CSS)
}

fn mime_css() -> actix_web::mime::Mime {
    actix_web::mime::TEXT_CSS_UTF_8
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::STYLE_CSS;

    const DARK: &str = "@media (prefers-color-scheme: dark)";

    /// `--name: #rrggbb;` declarations of the first `:root { … }` in `css`.
    fn variables(css: &str) -> BTreeMap<String, String> {
        let start = css.find(":root {").expect(":root block") + ":root {".len();
        let end = start + css[start..].find('}').expect("end of :root");
        css[start..end]
            .split(';')
            .filter_map(|d| d.trim().strip_prefix("--")?.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect()
    }

    /// (light, dark): the dark scheme is the light one with its overrides.
    fn schemes() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let light = variables(STYLE_CSS);
        let at = STYLE_CSS.find(DARK).expect("a dark colour scheme");
        let mut dark = light.clone();
        dark.extend(variables(&STYLE_CSS[at..]));
        (light, dark)
    }

    fn luminance(hex: &str) -> f64 {
        let hex = hex.strip_prefix('#').expect("#rrggbb");
        assert_eq!(hex.len(), 6, "#rrggbb: {hex}");
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    /// WCAG 2 contrast ratio, 1 to 21.
    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn the_contrast_formula_matches_known_values() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
    }

    /// Text needs 4.5:1 (WCAG 1.4.3), borders that mark state 3:1 (WCAG 1.4.11), in the
    /// light and in the dark scheme.
    #[test]
    fn every_colour_keeps_its_contrast_in_both_colour_schemes() {
        let minimums = BTreeMap::from([
            ("text", 4.5),
            ("hint", 4.5),
            ("link", 4.5),
            ("error", 4.5),
            ("warning", 3.0),
            ("rule", 3.0),
        ]);
        let (light, dark) = schemes();
        for (scheme, vars) in [("light", &light), ("dark", &dark)] {
            let background = &vars["background"];
            for (name, colour) in vars.iter().filter(|(name, _)| *name != "background") {
                let minimum = minimums
                    .get(name.as_str())
                    .unwrap_or_else(|| panic!("--{name} needs a contrast minimum here"));
                let ratio = contrast(colour, background);
                assert!(
                    ratio >= *minimum,
                    "{scheme}: --{name} {colour} on {background} is {ratio:.2}:1, below {minimum}:1"
                );
            }
        }
    }

    #[test]
    fn colours_come_only_from_the_checked_variables() {
        let (light, _) = schemes();
        let rules_start = STYLE_CSS.rfind("}\n}").expect("end of the dark scheme");
        let rules = &STYLE_CSS[rules_start..];
        assert!(!rules.contains('#'), "a colour outside the variables");
        for used in rules.split("var(--").skip(1) {
            let name = used.split(')').next().unwrap_or_default();
            assert!(light.contains_key(name), "--{name} is used but not defined");
        }
    }

    /// Physical sides and sizes do not mirror for a right-to-left language.
    #[test]
    fn only_logical_properties() {
        let mut css = STYLE_CSS.to_owned();
        while let Some(start) = css.find("/*") {
            let end = start + css[start..].find("*/").expect("end of comment") + 2;
            css.replace_range(start..end, "");
        }
        let physical = |token: &str| {
            ["left", "right", "top", "bottom", "width", "height", "float"].contains(&token)
                || ["-left", "-right", "-top", "-bottom"]
                    .iter()
                    .any(|side| token.ends_with(side))
                || ["min-width", "max-width", "min-height", "max-height"].contains(&token)
        };
        let tokens: Vec<&str> = css
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|t| physical(t))
            .collect();
        assert!(tokens.is_empty(), "use logical properties instead of {tokens:?}");
    }
}
