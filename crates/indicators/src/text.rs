//! Reading observables out of free text: refanging and tokens with proper edges.
//!
//! Functions take byte ranges of `text` and slice with `get`, so a range that is not on a
//! character boundary yields nothing rather than a panic.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::HashAlgo;

/// Defanging notations undone before matching, ASCII case ignored. Kept conservative:
/// prose-like forms (` dot `, ` at `) are left alone to avoid inventing observables.
const DEFANGS: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[:]", ":"),
    ("[://]", "://"),
    ("[/]", "/"),
    ("[@]", "@"),
    ("(@)", "@"),
    ("[at]", "@"),
    ("hxxp", "http"),
    ("fxp://", "ftp://"),
];

pub(crate) fn refang(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if matches!(b, b'[' | b'(' | b'{' | b'h' | b'H' | b'f' | b'F') {
            let at = |from: &&(&str, &str)| {
                bytes
                    .get(i..i + from.0.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(from.0.as_bytes()))
            };
            if let Some((from, to)) = DEFANGS.iter().find(at) {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(text.get(copied..i).unwrap_or_default());
                out.push_str(to);
                i += from.len();
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(out)
        }
    }
}

/// Maximal runs of bytes accepted by `keep`, as byte ranges.
pub(crate) fn runs(text: &str, keep: impl Fn(u8) -> bool) -> impl Iterator<Item = (usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while bytes.get(i).is_some_and(|&b| !keep(b)) {
            i += 1;
        }
        let start = i;
        while bytes.get(i).is_some_and(|&b| keep(b)) {
            i += 1;
        }
        (i > start).then_some((start, i))
    })
}

fn byte_before(text: &str, at: usize) -> Option<u8> {
    at.checked_sub(1).and_then(|i| text.as_bytes().get(i).copied())
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A run of digits and dots that is a whole dotted quad: `1.2.3.4` but not inside
/// `11.2.3.45`, `v1.2.3.4` or `1.2.3.4.5`. Leading zeros are refused, as by `Ipv4Addr`.
pub(crate) fn ipv4(text: &str, (start, end): (usize, usize)) -> Option<Ipv4Addr> {
    let glued = |b: Option<u8>| b.is_some_and(word_byte);
    if glued(byte_before(text, start)) || glued(text.as_bytes().get(end).copied()) {
        return None;
    }
    text.get(start..end)?.trim_matches('.').parse().ok()
}

/// A whole alphanumeric run of a digest's length, in lower case.
pub(crate) fn hex_digest(text: &str, (start, end): (usize, usize)) -> Option<String> {
    let len = end - start;
    if !HashAlgo::ALL.iter().any(|a| a.hex_len() == len) {
        return None;
    }
    let token = text.get(start..end)?;
    token
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| token.to_ascii_lowercase())
}

/// Longest address SMTP carries; longer runs are not looked up.
const MAX_EMAIL_LEN: usize = 254;

/// Candidate email addresses around each `@`, in lower case.
pub(crate) fn emails(text: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let host = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b) || !b.is_ascii();
    text.match_indices('@').filter_map(move |(at, _)| {
        let mut start = at;
        while byte_before(text, start).is_some_and(local) {
            start -= 1;
        }
        let mut end = at + 1;
        while bytes.get(end).is_some_and(|&b| host(b)) {
            end += 1;
        }
        let local_part = text.get(start..at)?.trim_start_matches('.');
        let domain = text.get(at + 1..end)?.trim_end_matches(['.', '-']);
        let ok = !local_part.is_empty() && !domain.is_empty();
        (ok && local_part.len() + domain.len() < MAX_EMAIL_LEN)
            .then(|| format!("{local_part}@{domain}").to_lowercase())
    })
}

fn token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Whether `text[start..end]` stands alone: not glued to a name before it, and followed
/// by nothing name-like except sentence-ending dots.
pub(crate) fn is_token(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    !before.is_some_and(token_char) && ends_name(text, end)
}

/// A URL starts here unless glued to something before it (`xhttp://`, `notevil.example/`).
pub(crate) fn url_starts_at(text: &str, start: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    !before.is_some_and(|c| token_char(c) || c == '+')
}

/// The host ends here: `http://evil.example` must not match `http://evil.example.org`.
pub(crate) fn host_ends_at(text: &str, end: usize) -> bool {
    ends_name(text, end)
}

fn ends_name(text: &str, end: usize) -> bool {
    let after = text.get(end..).map(|s| s.trim_start_matches('.').chars().next());
    !after
        .flatten()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refang_undoes_common_notations() {
        assert_eq!(
            refang("hXXps[:]//evil[.]example(.)test/a"),
            "https://evil.example.test/a"
        );
        assert_eq!(
            refang("ops[@]evil{.}example and x[at]y[dot]test"),
            "ops@evil.example and x@y.test"
        );
        assert_eq!(refang("192.0.2[.]1"), "192.0.2.1");
        assert!(matches!(refang("nothing to see"), Cow::Borrowed(_)));
        assert_eq!(refang("ünïcode [.] ✓"), "ünïcode . ✓");
    }

    #[test]
    fn ipv4_tokens_need_clean_edges() {
        let find = |t: &str| {
            runs(t, |b| b.is_ascii_digit() || b == b'.')
                .filter_map(|r| ipv4(t, r))
                .collect::<Vec<_>>()
        };
        assert_eq!(find("from 192.0.2.1."), vec![Ipv4Addr::new(192, 0, 2, 1)]);
        assert_eq!(
            find("11.2.3.45 v1.2.3.4 1.2.3.4.5 1.2.3.4x 01.2.3.4"),
            vec![Ipv4Addr::new(11, 2, 3, 45)]
        );
        assert_eq!(find("ip=203.0.113.9:443"), vec![Ipv4Addr::new(203, 0, 113, 9)]);
    }

    #[test]
    fn emails_are_found_and_lowered() {
        let found: Vec<String> = emails("Write to Ops@Evil.Example. Or a@b@c").collect();
        assert_eq!(found, vec!["ops@evil.example", "a@b", "b@c"]);
    }

    #[test]
    fn token_edges() {
        let t = "ran evild. com.apple.bh evild-helper /usr/bin/evild[12]";
        let at = |needle: &str, nth: usize| t.match_indices(needle).nth(nth).unwrap().0;
        assert!(is_token(t, at("evild", 0), at("evild", 0) + 5));
        assert!(!is_token(t, at("bh", 0), at("bh", 0) + 2));
        assert!(!is_token(t, at("evild", 1), at("evild", 1) + 5));
        assert!(is_token(t, at("evild", 2), at("evild", 2) + 5));
    }
}
