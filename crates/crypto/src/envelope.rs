use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use crate::{CryptoError, Passphrase, PublicKey, SecretIdentity};

/// An age stream being written; call [`SealingWriter::finish`] to write the last chunk.
/// Dropping it without `finish` leaves a truncated file that no identity will open.
pub type SealingWriter<W> = age::stream::StreamWriter<W>;

/// The one place that turns holders into an age recipient list.
fn encryptor(recipients: &[&PublicKey]) -> Result<age::Encryptor, CryptoError> {
    age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_age() as &dyn age::Recipient))
        .map_err(CryptoError::Encrypt)
}

/// Starts encrypting a stream to `recipients`, writing ciphertext to `output` as
/// plaintext is written in. Memory use is one 64 KiB chunk, whatever the size.
pub fn seal_writer<W: Write>(recipients: &[&PublicKey], output: W) -> Result<SealingWriter<W>, CryptoError> {
    encryptor(recipients)?
        .wrap_output(output)
        .map_err(CryptoError::Io)
}

/// Encrypts a small value to `recipients`.
pub fn seal(recipients: &[&PublicKey], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with(encryptor(recipients)?, plaintext)
}

fn seal_with(encryptor: age::Encryptor, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut w = encryptor.wrap_output(&mut out).map_err(CryptoError::Io)?;
    w.write_all(plaintext).map_err(CryptoError::Io)?;
    w.finish().map_err(CryptoError::Io)?;
    Ok(out)
}

/// Starts decrypting a stream. Reading returns an error if any chunk was altered or the
/// stream was cut short.
pub fn open_reader<'a, R: Read + 'a>(
    identity: &SecretIdentity,
    input: R,
) -> Result<impl Read + 'a, CryptoError> {
    let decryptor = age::Decryptor::new(input).map_err(CryptoError::Decrypt)?;
    decryptor
        .decrypt(std::iter::once(identity.as_age() as &dyn age::Identity))
        .map_err(CryptoError::Decrypt)
}

/// Decrypts a small value.
pub fn open(identity: &SecretIdentity, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut reader = open_reader(identity, ciphertext)?;
    let mut out = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut out).map_err(damaged)?;
    Ok(out)
}

fn damaged(e: io::Error) -> CryptoError {
    CryptoError::Damaged(e)
}

/// Wraps `secret` to one holder: the plaintext is an age identity file, so a holder can
/// run `age -d -i holder.key wrap.age > case.key` and then use `case.key` with `age`.
pub fn wrap_identity(secret: &SecretIdentity, holder: &PublicKey) -> Result<Vec<u8>, CryptoError> {
    seal(&[holder], secret.to_identity_file().as_bytes())
}

/// Seals `secret` to a passphrase, as age's scrypt recipient at
/// [`crate::PASSPHRASE_WORK_FACTOR`]: `age -d -o key.txt key.age` asks for the
/// passphrase and writes the identity file. Takes about a second and 256 MiB: run it
/// on a blocking thread, and not many at once.
pub fn wrap_identity_to_passphrase(
    secret: &SecretIdentity,
    passphrase: &Passphrase,
) -> Result<Vec<u8>, CryptoError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.to_age());
    recipient.set_work_factor(crate::PASSPHRASE_WORK_FACTOR);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .map_err(CryptoError::Encrypt)?;
    seal_with(encryptor, secret.to_identity_file().as_bytes())
}

/// Opens a wrap made by [`wrap_identity`].
pub fn unwrap_identity(wrap: &[u8], holder: &SecretIdentity) -> Result<SecretIdentity, CryptoError> {
    let plaintext = open(holder, wrap)?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| CryptoError::BadIdentity)?;
    SecretIdentity::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_plaintext() -> Vec<u8> {
        (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect()
    }

    #[test]
    fn every_recipient_opens_and_gets_exact_bytes() {
        let (a, b) = (SecretIdentity::generate(), SecretIdentity::generate());
        let data = big_plaintext();
        let ct = seal(&[&a.public(), &b.public()], &data).unwrap();
        assert_eq!(open(&a, &ct).unwrap().as_slice(), data.as_slice());
        assert_eq!(open(&b, &ct).unwrap().as_slice(), data.as_slice());
    }

    #[test]
    fn wrong_key_is_refused() {
        let (a, stranger) = (SecretIdentity::generate(), SecretIdentity::generate());
        let ct = seal(&[&a.public()], b"report").unwrap();
        assert!(matches!(open(&stranger, &ct), Err(CryptoError::Decrypt(_))));
    }

    #[test]
    fn every_tampered_byte_is_detected() {
        let a = SecretIdentity::generate();
        let ct = seal(&[&a.public()], &big_plaintext()).unwrap();
        // Header, first payload chunk, a middle chunk, the last byte.
        for pos in [10, 300, ct.len() / 2, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[pos] ^= 0x01;
            assert!(open(&a, &bad).is_err(), "flip at {pos} went unnoticed");
        }
    }

    #[test]
    fn truncation_is_detected() {
        let a = SecretIdentity::generate();
        let data = big_plaintext();
        let ct = seal(&[&a.public()], &data).unwrap();
        // Cut at a chunk boundary too (64 KiB + tag), where only the "last chunk" flag saves us.
        for cut in [ct.len() - 1, ct.len() - 17, ct.len() / 2, 65_536 + 16 + 200, 20] {
            assert!(open(&a, &ct[..cut]).is_err(), "cut at {cut} went unnoticed");
        }
    }

    #[test]
    fn wrap_round_trip_and_wrong_holder() {
        let (case, holder, other) = (
            SecretIdentity::generate(),
            SecretIdentity::generate(),
            SecretIdentity::generate(),
        );
        let wrap = wrap_identity(&case, &holder.public()).unwrap();
        assert_eq!(unwrap_identity(&wrap, &holder).unwrap().public(), case.public());
        assert!(unwrap_identity(&wrap, &other).is_err());
    }

    #[test]
    fn a_passphrase_wrap_opens_with_that_passphrase_only() {
        use age::secrecy::SecretString;
        let secret = SecretIdentity::generate();
        let passphrase = Passphrase::new("correct horse battery staple".into()).unwrap();
        let wrap = wrap_identity_to_passphrase(&secret, &passphrase).unwrap();
        let open_with = |typed: &str| {
            let identity = age::scrypt::Identity::new(SecretString::from(typed.to_owned()));
            let decryptor = age::Decryptor::new(wrap.as_slice()).unwrap();
            let mut text = String::new();
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map(|mut r| r.read_to_string(&mut text).unwrap())
                .map(|_| text)
        };
        let text = open_with("correct horse battery staple").unwrap();
        assert_eq!(SecretIdentity::parse(&text).unwrap().public(), secret.public());
        assert!(open_with("correct horse battery stapler").is_err());
        // The stanza names the work factor the CLI will spend.
        let header = String::from_utf8_lossy(&wrap[..200]);
        assert!(header.contains(" scrypt "), "{header}");
        assert!(
            header.contains(&format!(" {}\n", crate::PASSPHRASE_WORK_FACTOR)),
            "{header}"
        );
        assert!(
            !header.contains("X25519"),
            "a passphrase wrap has no other recipient"
        );
    }

    #[test]
    fn unfinished_stream_does_not_open() {
        let a = SecretIdentity::generate();
        let mut out = Vec::new();
        {
            let mut w = seal_writer(&[&a.public()], &mut out).unwrap();
            w.write_all(&big_plaintext()).unwrap();
            // dropped without finish(): an aborted upload
        }
        assert!(open(&a, &out).is_err());
    }
}
