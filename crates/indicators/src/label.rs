//! Names taken from bundles, kept for display: an indicator's own, and those of what it
//! indicates. A bundle is text someone downloaded and anyone could have written, and its
//! names end up in case summaries and logs, so they are made plain and short first.

/// Longest name kept, in characters; a longer one is cut and ends with `…`.
pub const MAX_LABEL_CHARS: usize = 128;

/// The name as one plain line: whitespace (tabs and line breaks too) becomes single
/// spaces; other control characters and invisible formatting characters are dropped.
/// `None` when nothing is left.
pub(crate) fn clean_label(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = chars > 0;
        } else if !c.is_control() && !is_invisible_format(c) {
            if space {
                out.push(' ');
                chars += 1;
                space = false;
            }
            out.push(c);
            chars += 1;
            // One character over is enough to know the name must be cut.
            if chars > MAX_LABEL_CHARS {
                let mut cut: String = out.chars().take(MAX_LABEL_CHARS - 1).collect();
                cut.truncate(cut.trim_end().len());
                cut.push('…');
                return Some(cut);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

pub(crate) use redress_domain::is_invisible_format;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_one_plain_line() {
        assert_eq!(clean_label("Pegasus").as_deref(), Some("Pegasus"));
        assert_eq!(
            clean_label("  NSO\tGroup\r\n(\u{1b}[31mQ Cyber)  ").as_deref(),
            Some("NSO Group ([31mQ Cyber)")
        );
        assert_eq!(clean_label("exe.\u{202E}gpj").as_deref(), Some("exe.gpj"));
        assert_eq!(clean_label(" \u{200B}\n\u{7}"), None);
    }

    #[test]
    fn long_names_are_cut() {
        let cut = clean_label(&"é".repeat(1000)).unwrap();
        assert_eq!(cut.chars().count(), MAX_LABEL_CHARS);
        assert!(cut.ends_with("é…"));
        let exact = "x".repeat(MAX_LABEL_CHARS);
        assert_eq!(clean_label(&exact).as_deref(), Some(exact.as_str()));
        let spaced = format!("{} y", "x".repeat(MAX_LABEL_CHARS - 2));
        assert_eq!(clean_label(&spaced).as_deref(), Some(spaced.as_str()));
        let cut_at_space = format!("{} yz", "x".repeat(MAX_LABEL_CHARS - 2));
        assert_eq!(
            clean_label(&cut_at_space).unwrap(),
            format!("{}…", "x".repeat(MAX_LABEL_CHARS - 2))
        );
    }
}
