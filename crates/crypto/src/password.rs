//! A person's key from their password, for portal accounts: Argon2id(password, salt) →
//! HKDF-SHA-256 → an X25519 identity, the *password key*. What an account keeps secret
//! (its own X25519 identity, its TOTP secret) is sealed, as standard age, to the
//! password key's public half; so a copy of the database alone opens neither, and the
//! password opens both. A password change derives a new password key and seals the
//! same secrets to it: the account's identity, and every case wrapped to it, stay.
//!
//! The salt and cost parameters are stored with the account; callers refuse
//! parameters below the floor (`KdfParams::check`) when an account is made.

use std::fmt;

use zeroize::Zeroizing;

use crate::receipt::argon2id_hkdf;
use crate::{CryptoError, KdfParams, SecretIdentity};

/// Salts shorter than this are refused.
pub const MIN_SALT_BYTES: usize = 16;

/// A password as typed. Zeroized on drop; never displayed.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Shorter passwords are refused.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Longer ones too: the strength estimate's work grows with the length.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password was refused, in words for the person choosing it.
#[derive(Debug, PartialEq, Eq)]
pub struct WeakPassword(pub String);

/// Judges a new password: at least `MIN_PASSWORD_CHARS` characters, and estimated by
/// zxcvbn to need more than 10^10 guesses (score 3 of 4), which at Argon2id's cost is
/// decades of one core's work per account. `context` holds words an attacker would
/// try first (the address, the service's name). A refusal says why, with zxcvbn's
/// warning and suggestions.
pub fn judge_password(password: &Password, context: &[&str]) -> Result<(), WeakPassword> {
    let chars = password.expose().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(WeakPassword(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters; a few unusual words in a row are easy to remember."
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(WeakPassword(format!(
            "Use at most {MAX_PASSWORD_CHARS} characters."
        )));
    }
    let estimate = zxcvbn::zxcvbn(password.expose(), context);
    if u8::from(estimate.score()) >= 3 {
        return Ok(());
    }
    let mut why = String::from("This password would be guessed too easily.");
    if let Some(feedback) = estimate.feedback() {
        let warning = feedback.warning().map(|w| w.to_string());
        let suggestions = feedback.suggestions().iter().map(ToString::to_string);
        for sentence in warning.into_iter().chain(suggestions) {
            why.push(' ');
            why.push_str(sentence.trim());
            if !sentence.trim_end().ends_with(['.', '!', '?']) {
                why.push('.');
            }
        }
    }
    Err(WeakPassword(why))
}

/// The password key of `password` with `salt` and `params`.
pub fn derive_password_key(
    password: &Password,
    salt: &[u8],
    params: &KdfParams,
) -> Result<SecretIdentity, CryptoError> {
    if salt.len() < MIN_SALT_BYTES {
        return Err(CryptoError::KdfParams(format!(
            "a password salt needs at least {MIN_SALT_BYTES} bytes"
        )));
    }
    let [secret] = argon2id_hkdf(
        password.expose().as_bytes(),
        salt,
        params,
        [b"redress/password/x25519/v1"],
    )?;
    SecretIdentity::from_bytes(&secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{open, seal, unwrap_identity, wrap_identity};

    const SALT: &[u8] = b"sixteen byte salt";

    fn key(password: &str, salt: &[u8]) -> SecretIdentity {
        derive_password_key(
            &Password::new(password.into()),
            salt,
            &KdfParams::danger_test_minimum(),
        )
        .unwrap()
    }

    #[test]
    fn the_same_password_and_salt_give_the_same_key_and_anything_else_another() {
        let a = key("correct horse battery staple", SALT);
        assert_eq!(a.public(), key("correct horse battery staple", SALT).public());
        assert_ne!(a.public(), key("correct horse battery stapler", SALT).public());
        assert_ne!(
            a.public(),
            key("correct horse battery staple", b"another salt, 16+").public()
        );
        // The receipt derivation's labels differ: the same text and salt never give a
        // reporter's identity.
        let receipt_like = crate::derive_receipt_keys(
            &crate::Receipt::generate(),
            SALT,
            &KdfParams::danger_test_minimum(),
        )
        .unwrap();
        assert_ne!(a.public(), receipt_like.identity.public());
    }

    #[test]
    fn what_is_sealed_to_the_password_key_opens_with_that_password_only() {
        let account = SecretIdentity::generate();
        let totp_secret = b"twenty bytes secret!";
        let old = key("old password, long enough", SALT);
        let wrap = wrap_identity(&account, &old.public()).unwrap();
        let totp = seal(&[&old.public()], totp_secret).unwrap();
        assert_eq!(unwrap_identity(&wrap, &old).unwrap().public(), account.public());
        assert_eq!(open(&old, &totp).unwrap().as_slice(), totp_secret);

        let wrong = key("old password, long enougH", SALT);
        assert!(unwrap_identity(&wrap, &wrong).is_err());
        assert!(open(&wrong, &totp).is_err());

        // A password change seals the same identity to the new key; the old password
        // opens nothing of what was sealed anew.
        let new = key("a new password, longer still", b"a fresh salt, 16+");
        let rewrapped = wrap_identity(&unwrap_identity(&wrap, &old).unwrap(), &new.public()).unwrap();
        assert_eq!(
            unwrap_identity(&rewrapped, &new).unwrap().public(),
            account.public()
        );
        assert!(unwrap_identity(&rewrapped, &old).is_err());
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason_and_strong_ones_pass() {
        let judge = |p: &str| judge_password(&Password::new(p.into()), &["ana@example.org", "Redress"]);
        assert!(judge("short").unwrap_err().0.contains("at least 12 characters"));
        for weak in [
            "password1234",
            "qwertyuiop12",
            "ana@example.org",
            "redressredress",
            "aaaaaaaaaaaaaaaa",
        ] {
            let why = judge(weak).expect_err(weak).0;
            assert!(
                why.starts_with("This password would be guessed too easily."),
                "{weak}: {why}"
            );
        }
        // The refusal says why, in zxcvbn's words, not only that it is weak.
        let why = judge("password1234").unwrap_err().0;
        assert!(
            why.len() > "This password would be guessed too easily.".len() + 10,
            "{why}"
        );
        assert!(why.ends_with('.'), "{why}");
        assert!(judge(&"x".repeat(300)).unwrap_err().0.contains("at most 256"));
        for strong in ["velvet quarry mosaic thunder", "7hP#q2v!Lz9@wR4m"] {
            assert_eq!(judge(strong), Ok(()), "{strong}");
        }
    }

    #[test]
    fn short_salts_and_weak_parameters_are_refused_and_passwords_stay_hidden() {
        let p = Password::new("a password that must not show".into());
        assert!(derive_password_key(&p, b"short", &KdfParams::danger_test_minimum()).is_err());
        assert!(KdfParams::danger_test_minimum().check(false).is_err());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }
}
