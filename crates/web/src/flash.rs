use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

/// Seals a short value into a cookie for one POST-redirect-GET hop (the receipt between
/// the submission and the page that shows it). Stateless, so any intake process can show
/// the receipt; encrypted and authenticated, so the cookie is opaque; expiring, so a
/// copied cookie is useless a few minutes later. Opening accepts the current and the
/// previous key, so rotating the key loses no cookie in flight.
#[derive(Clone)]
pub struct FlashSealer {
    cipher: XChaCha20Poly1305,
    previous: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for FlashSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlashSealer(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error("sealed value is damaged, forged or from another purpose")]
    Invalid,
    #[error("sealed value has expired")]
    Expired,
    #[error("value too large to seal")]
    TooLarge,
}

impl FlashSealer {
    pub fn new(current: [u8; 32], previous: Option<[u8; 32]>) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&current.into()),
            previous: previous.map(|key| XChaCha20Poly1305::new(&key.into())),
        }
    }

    /// Seals `value` for `purpose` until `expires_at` (Unix seconds). The AEAD refuses
    /// only values far beyond a cookie's size.
    pub fn seal(&self, purpose: &str, value: &[u8], expires_at: i64) -> Result<String, FlashError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut msg = Zeroizing::new(expires_at.to_be_bytes().to_vec());
        msg.extend_from_slice(value);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &msg,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| FlashError::TooLarge)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(B64.encode(out))
    }

    pub fn open(&self, purpose: &str, sealed: &str, now: i64) -> Result<Zeroizing<Vec<u8>>, FlashError> {
        let raw = B64.decode(sealed).map_err(|_| FlashError::Invalid)?;
        if raw.len() < 24 + 16 + 8 {
            return Err(FlashError::Invalid);
        }
        let (nonce, ct) = raw.split_at(24);
        let payload = || Payload {
            msg: ct,
            aad: purpose.as_bytes(),
        };
        let plain = Zeroizing::new(
            std::iter::once(&self.cipher)
                .chain(self.previous.as_ref())
                .find_map(|cipher| cipher.decrypt(XNonce::from_slice(nonce), payload()).ok())
                .ok_or(FlashError::Invalid)?,
        );
        let expires = i64::from_be_bytes(plain[..8].try_into().map_err(|_| FlashError::Invalid)?);
        if now > expires {
            return Err(FlashError::Expired);
        }
        Ok(Zeroizing::new(plain[8..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_expiry_purpose_and_tampering() {
        let s = FlashSealer::new([3; 32], None);
        let c = s.seal("receipt", b"secret words", 100).unwrap();
        assert!(!c.contains("secret"));
        assert_eq!(s.open("receipt", &c, 99).unwrap().as_slice(), b"secret words");
        assert!(matches!(s.open("receipt", &c, 101), Err(FlashError::Expired)));
        assert!(matches!(s.open("other", &c, 99), Err(FlashError::Invalid)));
        assert!(matches!(
            FlashSealer::new([4; 32], None).open("receipt", &c, 99),
            Err(FlashError::Invalid)
        ));
        let mut raw = B64.decode(&c).unwrap();
        raw[30] ^= 1;
        assert!(matches!(
            s.open("receipt", &B64.encode(raw), 99),
            Err(FlashError::Invalid)
        ));
    }

    #[test]
    fn previous_key_still_opens_after_rotation_and_no_older_one() {
        let sealed = FlashSealer::new([3; 32], None)
            .seal("receipt", b"words", 100)
            .unwrap();
        let rotated = FlashSealer::new([4; 32], Some([3; 32]));
        assert_eq!(rotated.open("receipt", &sealed, 99).unwrap().as_slice(), b"words");
        assert!(matches!(
            rotated.open("receipt", &sealed, 101),
            Err(FlashError::Expired)
        ));
        let fresh = rotated.seal("receipt", b"new", 100).unwrap();
        assert!(
            FlashSealer::new([3; 32], None)
                .open("receipt", &fresh, 99)
                .is_err(),
            "sealed with the current key"
        );
        let twice = FlashSealer::new([5; 32], Some([4; 32]));
        assert!(matches!(
            twice.open("receipt", &sealed, 99),
            Err(FlashError::Invalid)
        ));
        assert_eq!(twice.open("receipt", &fresh, 99).unwrap().as_slice(), b"new");
    }
}
