use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Name of the cookie holding the browser's random CSRF nonce.
pub const CSRF_COOKIE: &str = "redress_csrf";
/// Name of the hidden form field holding the signed token.
pub const CSRF_FIELD: &str = "csrf_token";

/// Signed double-submit CSRF protection that needs no JavaScript and no server state:
/// the cookie holds a random nonce, the form holds `time ‖ HMAC(key, nonce ‖ time)`. A
/// cross-site page can neither read the cookie nor forge the HMAC. Verification accepts
/// the current and the previous key, so rotating the key breaks no open form.
#[derive(Clone)]
pub struct CsrfKeys {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for CsrfKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKeys(<redacted>)")
    }
}

/// What checking a submitted token found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrfCheck {
    Valid,
    /// Issued by us for this browser, but longer ago than allowed: the person's form
    /// aged (what they typed may be given back to them; nothing is accepted).
    Expired,
    /// Missing, forged, or for another browser.
    Invalid,
}

/// A freshly issued pair: set `cookie` as the cookie value, put `field` in the form.
#[derive(Debug)]
pub struct CsrfToken {
    pub cookie: String,
    pub field: String,
}

impl CsrfKeys {
    pub fn new(current: [u8; 32], previous: Option<[u8; 32]>) -> Self {
        Self { current, previous }
    }

    /// Makes a token for `cookie` (reusing the browser's nonce if it already has a valid
    /// one, so two open tabs both keep working).
    pub fn issue(&self, existing_cookie: Option<&str>, now: i64) -> CsrfToken {
        let cookie = existing_cookie
            .filter(|c| valid_nonce(c))
            .map_or_else(new_nonce, str::to_owned);
        let field = sign(&self.current, &cookie, now);
        CsrfToken { cookie, field }
    }

    /// Whether `field` was issued for `cookie` by the current or previous key, and no
    /// more than `max_age_secs` ago.
    pub fn check(&self, cookie: Option<&str>, field: Option<&str>, now: i64, max_age_secs: i64) -> CsrfCheck {
        let (Some(cookie), Some(field)) = (cookie, field) else {
            return CsrfCheck::Invalid;
        };
        if !valid_nonce(cookie) {
            return CsrfCheck::Invalid;
        }
        let Some(issued) = issued_at(field) else {
            return CsrfCheck::Invalid;
        };
        let signed = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| {
                let expected = sign(key, cookie, issued);
                bool::from(expected.as_bytes().ct_eq(field.as_bytes()))
            });
        if !signed {
            return CsrfCheck::Invalid;
        }
        // The time is signed, but compare without overflowing all the same.
        let too_new = issued > now.saturating_add(60);
        let too_old = now.checked_sub(issued).is_none_or(|age| age > max_age_secs);
        match (too_new, too_old) {
            (true, _) => CsrfCheck::Invalid,
            (false, true) => CsrfCheck::Expired,
            (false, false) => CsrfCheck::Valid,
        }
    }
}

fn new_nonce() -> String {
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    B64.encode(nonce)
}

fn valid_nonce(c: &str) -> bool {
    B64.decode(c).is_ok_and(|b| b.len() == 16)
}

fn sign(key: &[u8; 32], cookie: &str, time: i64) -> String {
    let mac = redress_crypto::hmac_sha256(key, &[cookie.as_bytes(), &time.to_be_bytes()]);
    let mut out = time.to_be_bytes().to_vec();
    out.extend_from_slice(&mac);
    B64.encode(out)
}

fn issued_at(field: &str) -> Option<i64> {
    let raw = B64.decode(field).ok()?;
    let time: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some(i64::from_be_bytes(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verifies_only_with_its_cookie_key_and_age() {
        let keys = CsrfKeys::new([1; 32], None);
        let t = keys.issue(None, 1000);
        let check = |cookie: Option<&str>, field: Option<&str>, now| keys.check(cookie, field, now, 3600);
        assert_eq!(check(Some(&t.cookie), Some(&t.field), 1001), CsrfCheck::Valid);
        assert_eq!(
            check(Some(&t.cookie), Some(&t.field), 1000 + 3601),
            CsrfCheck::Expired,
            "ours, but too old"
        );
        let other = keys.issue(None, 1000);
        assert_eq!(
            check(Some(&other.cookie), Some(&t.field), 1001),
            CsrfCheck::Invalid,
            "wrong cookie"
        );
        assert_eq!(
            check(Some(&other.cookie), Some(&t.field), 9999),
            CsrfCheck::Invalid,
            "another browser's old token is not merely expired"
        );
        assert_eq!(check(None, Some(&t.field), 1001), CsrfCheck::Invalid);
        assert_eq!(check(Some(&t.cookie), None, 1001), CsrfCheck::Invalid);
        assert_eq!(check(Some(&t.cookie), Some("garbage"), 1001), CsrfCheck::Invalid);
        let mut tampered = t.field.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(check(Some(&t.cookie), Some(&tampered), 1001), CsrfCheck::Invalid);
        assert_eq!(
            CsrfKeys::new([2; 32], None).check(Some(&t.cookie), Some(&t.field), 1001, 3600),
            CsrfCheck::Invalid
        );
    }

    #[test]
    fn forged_extreme_times_are_refused_without_overflow() {
        let keys = CsrfKeys::new([1; 32], None);
        let t = keys.issue(None, 1000);
        for forged in [i64::MIN, i64::MAX, -1] {
            let mut raw = B64.decode(&t.field).unwrap();
            raw[..8].copy_from_slice(&forged.to_be_bytes());
            assert_eq!(
                keys.check(Some(&t.cookie), Some(&B64.encode(raw)), 1001, 3600),
                CsrfCheck::Invalid
            );
        }
    }

    #[test]
    fn previous_key_still_verifies_after_rotation() {
        let old = CsrfKeys::new([1; 32], None);
        let t = old.issue(None, 1000);
        let rotated = CsrfKeys::new([2; 32], Some([1; 32]));
        assert_eq!(
            rotated.check(Some(&t.cookie), Some(&t.field), 1001, 3600),
            CsrfCheck::Valid
        );
        assert_eq!(
            rotated.issue(Some(&t.cookie), 1002).cookie,
            t.cookie,
            "nonce is reused"
        );
    }
}
