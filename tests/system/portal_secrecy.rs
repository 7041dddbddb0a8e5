//! What a copy of the database and the data folder holds while people are logged in:
//! no password, no authenticator secret, no recovery code, no unlocked identity, no
//! session cookie; every secret there is age ciphertext, and the key that opens a
//! session's identity is in the browser alone.

use redress_crypto::{CookieKey, SecretIdentity};
use redress_domain::Holder;

use crate::helpers::*;
use crate::staff::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_taken_while_logged_in_opens_nothing_and_holds_no_secret_in_the_clear() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let a = &cast.a;
    assert_eq!(a.agent.get("/cases").await.status, 200, "logged in");

    // The copy.
    let dump = dump_database(&app.store).await;
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = files_under(&app.config.data_dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let nowhere = |what: &str, needle: &[u8]| {
        assert!(
            !dump.as_bytes().windows(needle.len()).any(|w| w == needle),
            "{what} in the database"
        );
        for (path, bytes) in &files {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{what} in {}",
                path.display()
            );
        }
    };

    // What the browser holds: the session's key. With it the identity opens, and with
    // the identity A's case.
    let cookie = a
        .agent
        .cookie(redress_portal::SESSION_COOKIE)
        .expect("a session cookie");
    let key = CookieKey::from_cookie(&cookie).unwrap();
    let session = app.store.session(&key.lookup()).await.unwrap().expect("its row");
    let identity =
        SecretIdentity::parse(std::str::from_utf8(&key.open(&session.sealed_identity).unwrap()).unwrap())
            .unwrap();
    let account = app.store.account(a.id).await.unwrap().unwrap();
    assert_eq!(identity.public().to_string(), account.recipient);
    let opened = app
        .open_as(
            &cast.case_a,
            Holder::Investigator(account.investigator_id.unwrap()),
            &identity,
        )
        .await;
    assert!(opened.is_ok(), "{opened:?}");

    // None of it is in the copy.
    nowhere("the session cookie", cookie.as_bytes());
    nowhere(
        "the unlocked identity",
        identity.to_identity_file().trim().as_bytes(),
    );
    nowhere("the password", PASSWORD.as_bytes());
    nowhere("the authenticator secret", a.totp.expose());
    nowhere("the authenticator secret as text", a.totp.base32().as_bytes());
    for code in &a.codes {
        nowhere("a recovery code", code.as_bytes());
        nowhere("a recovery code", code.replace('-', "").as_bytes());
    }
    assert!(
        !dump.contains("AGE-SECRET-KEY-"),
        "no identity in the clear at all"
    );

    // What the copy holds is age ciphertext, and nothing in it opens the session's.
    for sealed in [
        &session.sealed_identity,
        &account.identity_wrap,
        account.totp_sealed.as_ref().unwrap(),
    ] {
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    }
    let from_copy = CookieKey::from_cookie(&base64_url(&key.lookup())).unwrap();
    assert!(
        from_copy.open(&session.sealed_identity).is_err(),
        "the stored lookup is no key"
    );
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
