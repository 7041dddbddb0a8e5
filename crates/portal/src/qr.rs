//! The enrolment QR code, drawn on the server as SVG: no script, no image request.

use qrcode::QrCode;
use qrcode::render::svg;

/// An inline `<svg>` of `text`; `None` if it is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: without the XML declaration.
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_otpauth_uri_draws_as_inline_svg_without_script() {
        let svg = super::svg("otpauth://totp/Redress:ana%40example.org?secret=GEZDGNBVGY3TQOJQ").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        for forbidden in ["<script", "style=", "href", "<?xml"] {
            assert!(!svg.contains(forbidden), "{forbidden}");
        }
        assert!(svg.contains("<path") || svg.contains("<rect"));
    }
}
