//! Sessions (ADR 0022). The cookie holds a random key; the database holds the key's
//! hash, the account, the times, and the account's unlocked identity sealed to the
//! key. Any portal process can serve any session; a copy of the database opens no
//! identity. Logout and expiry delete the row.

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::cookie::Cookie;
use redress_crypto::{CookieKey, SecretIdentity};
use redress_domain::{AccountId, Role, SessionStage};
use redress_store::{Account, Audited, NewSession, StoreError, StoredSession};

use crate::PortalState;

/// The session cookie's name (with `__Host-` in front when cookies are secure).
pub const SESSION_COOKIE: &str = "redress_portal_session";

/// A session's last activity is written again once it is this old, not on every
/// request: idle time is counted to within this.
const TOUCH_AFTER_SECS: i64 = 60;

/// The person behind a request, from a live session.
#[derive(Clone)]
pub struct Viewer {
    pub account: Account,
    pub session: StoredSession,
    key: Arc<CookieKey>,
    /// When the session ends if nothing more happens (Unix seconds).
    pub ends_at: i64,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("account", &self.account.id)
            .field("role", &self.account.role)
            .finish_non_exhaustive()
    }
}

impl Viewer {
    pub fn id(&self) -> AccountId {
        self.account.id
    }

    pub fn role(&self) -> Role {
        self.account.role
    }

    pub fn stage(&self) -> SessionStage {
        self.session.stage
    }

    /// How the audit log names this person.
    pub fn actor(&self) -> String {
        actor(self.account.id)
    }

    /// The account's identity, unsealed with the cookie's key for this request only.
    pub fn identity(&self) -> Result<SecretIdentity, redress_crypto::CryptoError> {
        let file = self.key.open(&self.session.sealed_identity)?;
        let text = std::str::from_utf8(&file).map_err(|_| redress_crypto::CryptoError::BadIdentity)?;
        SecretIdentity::parse(text)
    }

    /// Seals `plaintext` to this session's cookie key.
    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, redress_crypto::CryptoError> {
        self.key.seal(plaintext)
    }

    pub(crate) fn open(
        &self,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, redress_crypto::CryptoError> {
        self.key.open(sealed)
    }
}

/// How the audit log names an account.
pub fn actor(id: AccountId) -> String {
    format!("account:{id}")
}

/// What a request's cookie came to.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub viewer: Option<Viewer>,
    /// A session cookie came, but its session has ended (or never was): the browser
    /// should forget it, and the person hear why they must log in.
    pub ended: bool,
}

/// Finds the session of `req`'s cookie, ending it if it has run out.
pub(crate) async fn resolve(
    state: &PortalState,
    req: &HttpRequest,
    now: i64,
) -> Result<Resolved, StoreError> {
    let ended = |_| Resolved {
        viewer: None,
        ended: true,
    };
    let Some(cookie) = req.cookie(&state.cookie_name(SESSION_COOKIE)) else {
        return Ok(Resolved {
            viewer: None,
            ended: false,
        });
    };
    let Some(key) = CookieKey::from_cookie(cookie.value()) else {
        return Ok(ended(()));
    };
    let lookup = key.lookup();
    let Some(mut session) = state.store.session(&lookup).await? else {
        return Ok(ended(()));
    };
    let idle = state.settings.session_idle_secs;
    let account = match state.store.account(session.account).await? {
        Some(a) if a.state == redress_domain::AccountState::Active => a,
        _ => {
            state.store.forget_session(&lookup).await?;
            return Ok(ended(()));
        }
    };
    if now >= session.expires_at || now >= session.last_seen + idle {
        state.store.forget_session(&lookup).await?;
        return Ok(ended(()));
    }
    if now - session.last_seen >= TOUCH_AFTER_SECS {
        state.store.touch_session(&lookup, now).await?;
        session.last_seen = now;
    }
    let ends_at = session.expires_at.min(session.last_seen + idle);
    Ok(Resolved {
        viewer: Some(Viewer {
            account,
            session,
            key: Arc::new(key),
            ends_at,
        }),
        ended: false,
    })
}

/// Starts a session for `account` in `tx` (with the login or setup it belongs to), its
/// identity sealed to a fresh cookie key; returns the cookie to set.
pub(crate) async fn start(
    state: &PortalState,
    tx: &Audited,
    account: AccountId,
    identity: &SecretIdentity,
    stage: SessionStage,
    now: i64,
) -> Result<Cookie<'static>, crate::forms::Failure> {
    let key = CookieKey::generate();
    let sealed = key.seal(identity.to_identity_file().as_bytes())?;
    tx.insert_session(&NewSession {
        lookup: key.lookup(),
        account,
        stage,
        sealed_identity: sealed,
        created_at: now,
        expires_at: now + state.settings.session_absolute_secs,
    })
    .await?;
    // No Max-Age: the browser forgets it when it closes, whatever the server says.
    Ok(state.cookie(SESSION_COOKIE, key.cookie_value().to_string()))
}
