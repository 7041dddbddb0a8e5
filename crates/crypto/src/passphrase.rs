//! A passphrase a person chooses for something they carry out of Redress (a case
//! export, ADR 0026), so that the stock `age` CLI opens it with the passphrase alone:
//! age's own scrypt recipient, at a fixed work factor. It is never stored: it seals
//! once, in memory, and is zeroized when dropped.

use std::fmt;

use age::secrecy::{ExposeSecret, SecretString};

/// Shorter passphrases are refused: the sealed file travels, and whoever finds it may
/// guess offline for as long as they like.
pub const MIN_PASSPHRASE_CHARS: usize = 16;

/// Longer ones too (scrypt takes any length; a bound keeps a form's field sane).
pub const MAX_PASSPHRASE_CHARS: usize = 1024;

/// scrypt's work factor (log2 of N) for a passphrase seal: the `age` CLI's own, about a
/// second and 256 MiB of memory, to seal and again to open. The stock CLI opens up to
/// 22.
pub const PASSPHRASE_WORK_FACTOR: u8 = 18;

/// A passphrase as typed, checked. Zeroized on drop; never displayed.
pub struct Passphrase(SecretString);

/// Why a passphrase was refused. It is never repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    #[error("shorter than {MIN_PASSPHRASE_CHARS} characters")]
    TooShort,
    #[error("longer than {MAX_PASSPHRASE_CHARS} characters")]
    TooLong,
    /// A control character cannot be typed at `age`'s prompt.
    #[error("holds a control character")]
    Control,
}

impl Passphrase {
    /// Takes the passphrase as typed (spaces included: they are typed at the prompt
    /// too).
    pub fn new(text: String) -> Result<Self, PassphraseError> {
        let secret = SecretString::from(text);
        let typed = secret.expose_secret();
        let chars = typed.chars().count();
        if chars < MIN_PASSPHRASE_CHARS {
            return Err(PassphraseError::TooShort);
        }
        if chars > MAX_PASSPHRASE_CHARS {
            return Err(PassphraseError::TooLong);
        }
        if typed.chars().any(char::is_control) {
            return Err(PassphraseError::Control);
        }
        Ok(Self(secret))
    }

    /// Whether `other` is the same passphrase (the form's second field).
    pub fn is(&self, other: &str) -> bool {
        self.0.expose_secret() == other
    }

    pub(crate) fn to_age(&self) -> SecretString {
        self.0.clone()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_control_characters_are_refused() {
        let p = |s: &str| Passphrase::new(s.to_owned());
        assert_eq!(p("fifteen chars..").unwrap_err(), PassphraseError::TooShort);
        assert!(p("sixteen chars...").is_ok());
        // Characters, not bytes.
        assert_eq!(p("ééééééééééééééé").unwrap_err(), PassphraseError::TooShort);
        assert_eq!(
            p(&"x".repeat(MAX_PASSPHRASE_CHARS + 1)).unwrap_err(),
            PassphraseError::TooLong
        );
        assert_eq!(p("a line\nand another").unwrap_err(), PassphraseError::Control);
        let ok = p("  spaces count too  ").unwrap();
        assert!(ok.is("  spaces count too  ") && !ok.is("spaces count too"));
        assert_eq!(format!("{ok:?}"), "Passphrase(<redacted>)");
    }
}
