//! What the benchmarks share: a fresh PostgreSQL database, a browser-like client and
//! its form helpers, an investigator account set up through HTTP, and percentiles.
//! Each example uses part of it.
#![allow(dead_code)]

use std::time::Duration;

use redress_crypto::TotpSecret;
use redress_domain::Role;

pub const PASSWORD: &str = "velvet quarry mosaic thunder";

/// A fresh PostgreSQL database on the server of `admin` (a URL that may create one);
/// its URL.
pub async fn fresh_postgres(admin: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("redress_bench_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect(admin).await.unwrap();
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{name}")
}

/// A case reference at random that is not in `used` (100,000 of 2^40 collide about
/// once in two hundred sets), added to it.
pub fn unique_case_ref(used: &mut std::collections::HashSet<String>) -> String {
    loop {
        let r = redress_domain::CaseRef::from_random(rand::random()).to_string();
        if used.insert(r.clone()) {
            return r;
        }
    }
}

/// Drops a database [`fresh_postgres`] made, connections and all.
pub async fn drop_postgres(admin: &str, url: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let name = url.rsplit_once('/').map_or(url, |(_, n)| n);
    let db = Database::connect(admin).await.unwrap();
    db.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}

/// A browser: its own cookies, redirects not followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// The text of `html` between `start` and the next `end`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html.find(start).unwrap_or_else(|| panic!("{start} not in page")) + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

/// The value of a page's CSRF field.
pub fn token(html: &str) -> String {
    between(between(html, "name=\"csrf_token\"", ">"), "value=\"", "\"").to_owned()
}

/// Gets `page` for its CSRF token, then posts `fields` to `action`.
pub async fn form(
    c: &reqwest::Client,
    base: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = c
        .get(format!("{base}{page}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let t = token(&html);
    let mut all = vec![("csrf_token", t.as_str())];
    all.extend_from_slice(fields);
    c.post(format!("{base}{action}")).form(&all).send().await.unwrap()
}

/// The `p` quantile of sorted durations (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Invites `email` as an investigator of `teams` with room for `capacity` cases and
/// sets the account up through HTTP in the browser `c`, which is then logged in;
/// returns its authenticator.
pub async fn set_up(
    store: &redress_store::Store,
    c: &reqwest::Client,
    base: &str,
    email: &str,
    teams: &[&str],
    capacity: u32,
) -> TotpSecret {
    let request = redress_portal::InviteRequest {
        email: email.to_owned(),
        role: Role::Investigator,
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        capacity: Some(capacity),
        valid_hours: 1,
    };
    let link = redress_portal::invite(store, &request, "cli", redress_cli::system_clock())
        .await
        .unwrap()
        .link("")
        .to_string();
    let res = form(
        c,
        base,
        &link,
        &link,
        &[("password", PASSWORD), ("confirm", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let enrol = c
        .get(format!("{base}/enrol"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let totp = TotpSecret::from_base32(between(&enrol, "id=\"totp-secret\">", "<")).unwrap();
    let code = totp.code_at(redress_cli::system_clock());
    let res = form(c, base, "/enrol", "/enrol", &[("code", &code)]).await;
    assert_eq!(res.status(), 303);
    totp
}
