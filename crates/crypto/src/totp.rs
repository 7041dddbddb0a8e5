//! Time-based one-time passwords (RFC 6238) for portal logins: HMAC-SHA-1, 30-second
//! steps, six digits, as every authenticator app expects. A code is accepted in its own
//! step or the one before or after (clock drift), and only in a step later than the
//! last one accepted for the account, so a code seen over a shoulder cannot be used
//! again. The secret is shown once at enrolment, as base32 text and in a QR code, and
//! then stored only sealed to the account's password key (`password.rs`).

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// Seconds per step.
pub const TOTP_STEP_SECS: i64 = 30;

/// Secret length: 160 bits, RFC 4226's recommendation for HMAC-SHA-1.
const SECRET_BYTES: usize = 20;

/// An account's TOTP secret. Zeroized on drop; never displayed except by
/// [`TotpSecret::base32`], for enrolment.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> Self {
        let bytes: [u8; SECRET_BYTES] = rand::random();
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret as stored (sealed) and read back.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret as an authenticator app is given it (`base32`'s text, spaces and
    /// case forgiven); `None` for text that is not one.
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = data_encoding::BASE32_NOPAD.decode(clean.as_bytes()).ok()?;
        (!bytes.is_empty()).then(|| Self(Zeroizing::new(bytes)))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The code an authenticator app shows at `now`.
    pub fn code_at(&self, now: i64) -> String {
        let step = u64::try_from(now.div_euclid(TOTP_STEP_SECS)).unwrap_or(0);
        format!("{:06}", self.code(step))
    }

    /// Base32 without padding, for typing into an authenticator app.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let label = format!("{}:{}", percent(issuer), percent(account));
        Zeroizing::new(format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            self.base32().as_str(),
            percent(issuer)
        ))
    }

    /// The six-digit code of `step`. The key is brought to SHA-1's block size as RFC
    /// 2104 says (hashed if longer, zero-padded), as in `keyed.rs`, so there is no error
    /// path.
    fn code(&self, step: u64) -> u32 {
        let mut block = Zeroizing::new([0u8; 64]);
        if self.0.len() > 64 {
            block[..20].copy_from_slice(&Sha1::digest(self.0.as_slice()));
        } else {
            block[..self.0.len()].copy_from_slice(&self.0);
        }
        let key_block: &[u8; 64] = &block;
        let mut mac = <Hmac<Sha1> as KeyInit>::new(key_block.into());
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let bin = u32::from_be_bytes([
            digest[offset],
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]) & 0x7fff_ffff;
        bin % 1_000_000
    }

    /// The step at which `code` is valid at `now` (its own, or one either side), if it
    /// is later than `last_used`: the step to record as used. `None` otherwise.
    pub fn accept(&self, code: &str, now: i64, last_used: Option<u64>) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let wanted: u32 = code.parse().ok()?;
        let current = u64::try_from(now.div_euclid(TOTP_STEP_SECS)).ok()?;
        // Every candidate is computed, so the time taken does not say which matched.
        let mut accepted = None;
        for step in [current.saturating_sub(1), current, current + 1] {
            let fresh = last_used.is_none_or(|last| step > last);
            let same = self.code(step) == wanted;
            if same && fresh {
                accepted = Some(step);
            }
        }
        accepted
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1), the last six digits of each code.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            let step = (time / 30) as u64;
            assert_eq!(format!("{:06}", secret.code(step)), code, "T = {time}");
            assert_eq!(secret.accept(code, time, None), Some(step), "T = {time}");
        }
    }

    #[test]
    fn a_code_works_one_step_either_side_and_only_once() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let step = (now / 30) as u64;
        let code = format!("{:06}", secret.code(step));
        assert_eq!(secret.accept(&code, now - 30, None), Some(step), "a step early");
        assert_eq!(secret.accept(&code, now + 30, None), Some(step), "a step late");
        assert_eq!(secret.accept(&code, now + 60, None), None, "two steps late");
        assert_eq!(secret.accept(&format!(" {code} "), now, None), Some(step));
        // Once used, neither it nor an earlier step's code is accepted again.
        assert_eq!(secret.accept(&code, now, Some(step)), None);
        let earlier = format!("{:06}", secret.code(step - 1));
        assert_eq!(secret.accept(&earlier, now, Some(step)), None);
        let next = format!("{:06}", secret.code(step + 1));
        assert_eq!(secret.accept(&next, now + 30, Some(step)), Some(step + 1));
        for bad in ["", "12345", "1234567", "12345a", "-12345"] {
            assert_eq!(secret.accept(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn enrolment_text_and_uri_and_a_hidden_debug() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(secret.base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.otpauth_uri("Redress", "ana@example.org").as_str(),
            "otpauth://totp/Redress:ana%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Redress&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        let typed = TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
        assert_eq!(typed.expose(), secret.expose());
        assert_eq!(typed.code_at(59), "287082", "as an app shows it");
        assert!(TotpSecret::from_base32("not base32!").is_none());
        assert_eq!(TotpSecret::generate().expose().len(), 20);
    }
}
