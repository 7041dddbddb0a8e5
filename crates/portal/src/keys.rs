//! The key pages, for admins (issue 11): `/admin/keys` shows what `redress keys status`
//! shows (from `redress_keychain::status`, the same facts), the rotations newest first,
//! and a form that asks for a triage-key rotation; `/admin/keys/rotations/{rotation}`
//! follows one, reloading itself while it runs. The portal performs no rotation: it
//! holds no triage identity. It writes the request (state `requested`, audited) and a
//! worker, which holds the identity files, claims and performs it
//! (`redress_cli::rotation_requests`), recording its progress on the same row.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::AuditAction;
use redress_keychain::rotation::OrgKey;
use redress_keychain::status::{
    DoorSecret, EarlierVersion, Fingerprint, KeyLine, KeyName, KeyStatus, Made, WrapHolder, key_status,
};
use redress_store::{Rotation, RotationRequest, RotationState, VersionState};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, see_other};
use crate::forms::{self, Answer, answer};
use crate::layout::{Chrome, clock_time, day, page};

/// Rotations the key page lists.
const ROTATIONS_LISTED: u64 = 20;

/// How often a rotation's page reloads itself while it is unfinished, in seconds.
const REFRESH_SECS: u32 = 5;

/// A current key as the page lists it.
#[derive(Debug)]
pub struct KeyRow {
    /// For the row's cells' ids: `triage`, `investigator-ana@example.org`, …
    pub slug: String,
    pub name: String,
    pub fingerprint: String,
    pub made: String,
    pub wraps: String,
}

/// An earlier version of the triage or recovery key.
#[derive(Debug)]
pub struct VersionRow {
    pub key: String,
    pub fingerprint: String,
    pub state: String,
    pub made: String,
    pub retired: String,
    pub wraps: u64,
    pub may_be_destroyed: bool,
    /// What to do with its identity.
    pub advice: String,
}

#[derive(Debug)]
pub struct LeftOverRow {
    pub holder: String,
    pub recipient: String,
    pub wraps: u64,
}

#[derive(Debug)]
pub struct DoorRow {
    pub process: String,
    pub key: String,
    pub sealing_to: String,
}

/// A rotation as the pages show it.
#[derive(Debug)]
pub struct RotationRow {
    pub id: String,
    pub key: String,
    pub state: String,
    pub unfinished: bool,
    pub done: u64,
    pub total: u64,
    /// "3 of 10 wraps".
    pub progress: String,
    pub new_key: String,
    pub note: String,
    pub started: String,
    pub updated: String,
}

page!(KeysPage {
    keys: Vec<KeyRow>,
    earlier: Vec<VersionRow>,
    left_over: Vec<LeftOverRow>,
    doors: Vec<DoorRow>,
    rotations: Vec<RotationRow>,
    errors: Vec<String>,
    /// The unfinished rotation a refused request points to.
    unfinished: Option<String>,
}, "keys.html");

page!(RotationPage {
    rotation: RotationRow,
    refresh: Option<u32>,
}, "rotation.html");

fn at(t: i64) -> String {
    format!("{} {}", day(t), clock_time(t))
}

/// A word from the catalogue for a stored name, or the name itself when the catalogue
/// has none (a kind of rotation added later).
fn word(state: &PortalState, section: &str, name: &str) -> String {
    let key = format!("{section}.{name}");
    if state.messages.has(&key) {
        state.messages.get(&key).into_owned()
    } else {
        name.to_owned()
    }
}

fn key_row(state: &PortalState, k: &KeyLine) -> KeyRow {
    let t = &state.messages;
    let secret_key = |secret: DoorSecret| match secret {
        DoorSecret::Web => "web-secret",
        DoorSecret::Portal => "portal-secret",
    };
    let (slug, name) = match &k.name {
        KeyName::Org(key) => (key.as_str().to_owned(), word(state, "key_kind", key.as_str())),
        KeyName::Investigator { email } => (
            format!("investigator-{email}"),
            t.fill("keys.investigator", &[("email", email)]),
        ),
        KeyName::Secret { secret, previous } => {
            let slug = secret_key(*secret);
            let name = t.get(&format!("keys.{}", slug.replace('-', "_"))).into_owned();
            if *previous {
                (
                    format!("{slug}-previous"),
                    t.fill("keys.previous", &[("key", &name)]),
                )
            } else {
                (slug.to_owned(), name)
            }
        }
    };
    KeyRow {
        slug,
        name,
        fingerprint: match &k.fingerprint {
            Fingerprint::Shown(f) => f.clone(),
            Fingerprint::NotMadeYet => t.get("keys.not_made_yet").into_owned(),
            Fingerprint::NotOnThisHost => t.get("keys.not_on_this_host").into_owned(),
        },
        made: match &k.made {
            Made::Day(d) => d.clone(),
            Made::At(unix) => day(*unix),
            Made::InConfiguration => t.get("keys.in_configuration").into_owned(),
            Made::NotRecorded => t.get("keys.not_recorded").into_owned(),
        },
        wraps: k.wraps.map_or_else(|| "–".to_owned(), |n| n.to_string()),
    }
}

fn version_row(state: &PortalState, v: &EarlierVersion) -> VersionRow {
    let t = &state.messages;
    let advice = if v.may_be_destroyed() {
        "keys.may_be_destroyed"
    } else {
        match v.state {
            VersionState::Retired => "keys.keep_retired",
            VersionState::Retiring => "keys.keep_retiring",
            VersionState::Current => "keys.current_elsewhere",
        }
    };
    VersionRow {
        key: word(state, "key_kind", v.key.as_str()),
        fingerprint: v.fingerprint.clone(),
        state: word(state, "key_version", v.state.as_str()),
        made: v.made.clone(),
        retired: v.retired.clone().unwrap_or_default(),
        wraps: v.wraps,
        may_be_destroyed: v.may_be_destroyed(),
        advice: t.get(advice).into_owned(),
    }
}

fn rotation_row(state: &PortalState, r: &Rotation) -> RotationRow {
    let t = &state.messages;
    let mut key = word(state, "key_kind", &r.kind);
    if let Some(subject) = &r.subject {
        key = format!("{key} ({subject})");
    }
    RotationRow {
        id: r.id.clone(),
        key,
        state: word(state, "rotation_state", &r.state),
        unfinished: r.known_state().is_some_and(RotationState::unfinished),
        done: r.done,
        total: r.total,
        progress: t.fill(
            "keys.progress",
            &[("done", &r.done.to_string()), ("total", &r.total.to_string())],
        ),
        new_key: r.new_fingerprint.clone().unwrap_or_default(),
        note: r.note.clone().unwrap_or_default(),
        started: at(r.started_at),
        updated: at(r.updated_at),
    }
}

/// `GET /admin/keys`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(
        &state,
        keys_page(&req, &state, &viewer, StatusCode::OK, Vec::new(), None).await,
    )
}

async fn keys_page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<String>,
    unfinished: Option<String>,
) -> Answer {
    let host = (state.host_keys)();
    let s: KeyStatus = key_status(&state.store, &host, state.now()).await?;
    let t = &state.messages;
    let page = KeysPage {
        chrome: Chrome::new(state, req, Some(viewer), "keys.title"),
        keys: s.keys.iter().map(|k| key_row(state, k)).collect(),
        earlier: s.earlier.iter().map(|v| version_row(state, v)).collect(),
        left_over: s
            .left_over
            .iter()
            .map(|l| LeftOverRow {
                holder: match &l.holder {
                    WrapHolder::Org(key) => word(state, "key_kind", key.as_str()),
                    WrapHolder::Investigator(Some(email)) => t.fill("keys.investigator", &[("email", email)]),
                    WrapHolder::Investigator(None) => t.get("keys.investigator_gone").into_owned(),
                },
                recipient: l.recipient.clone(),
                wraps: l.wraps,
            })
            .collect(),
        doors: s
            .stale_doors
            .iter()
            .map(|d| DoorRow {
                process: d.process.clone(),
                key: word(state, "key_kind", d.key.as_str()),
                sealing_to: d.sealing_to.clone(),
            })
            .collect(),
        rotations: state
            .store
            .rotations(ROTATIONS_LISTED)
            .await?
            .iter()
            .map(|r| rotation_row(state, r))
            .collect(),
        errors,
        unfinished,
    };
    Ok(page.chrome.respond(status, &page))
}

/// What the start form posts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StartForm {
    /// The key to rotate: `triage`, the one a worker can rotate on its own.
    key: String,
}

/// `POST /admin/keys`: asks for a triage-key rotation, unless one is unfinished.
pub async fn start(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, start_inner(&req, &state, &viewer, &body).await)
}

async fn start_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<StartForm>(state, req, body, "/admin/keys") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let t = &state.messages;
    let refuse = |errors: Vec<String>, unfinished: Option<String>| {
        keys_page(
            req,
            state,
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            unfinished,
        )
    };
    if form.key != OrgKey::Triage.as_str() {
        return refuse(vec![t.get("keys.only_triage").into_owned()], None).await;
    }
    let now = state.now();
    let tx = state.store.begin_audited().await?;
    let rotation = match tx.request_rotation(OrgKey::Triage.as_str(), None, now).await? {
        RotationRequest::Opened(r) => r,
        RotationRequest::Unfinished(open) => {
            // The transaction ends before the page is read again.
            drop(tx);
            let said = t.fill("keys.unfinished", &[("started", &at(open.started_at))]);
            return refuse(vec![said], Some(open.id)).await;
        }
    };
    let actor = viewer.actor();
    let target = format!("rotation:{}", rotation.id);
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::KeyRotationRequest,
        target: Some(&target),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/keys/rotations/{}", rotation.id)))
}

/// `GET /admin/keys/rotations/{rotation}`: one rotation's progress, reloading itself
/// while it is requested or running.
pub async fn rotation(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> HttpResponse {
    answer(&state, rotation_inner(&req, &state, &viewer, &id).await)
}

async fn rotation_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, id: &str) -> Answer {
    let Some(r) = state.store.rotation(id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let row = rotation_row(state, &r);
    let page = RotationPage {
        chrome: Chrome::new(state, req, Some(viewer), "rotation.title"),
        refresh: row.unfinished.then_some(REFRESH_SECS),
        rotation: row,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}
