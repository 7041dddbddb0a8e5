//! The portal in tests: a portal door on a `TestApp`'s database and clock, and staff
//! who use it through HTTP as a browser would (cookies kept, CSRF tokens read from the
//! page they were issued with).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::web;
use redress_cli::Overrides;
use redress_crypto::{KdfParams, TotpSecret};
use redress_domain::{AccountId, Role};
use redress_portal::PortalState;

use crate::helpers::*;

/// A password zxcvbn rates strong, for accounts made in tests.
pub const PASSWORD: &str = "velvet quarry mosaic thunder";

pub struct Portal {
    pub base: String,
    pub state: web::Data<PortalState>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Portal {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    /// A portal door on this app's database, data folder (its secret) and clock, with
    /// cheap key derivations.
    pub async fn portal(&self) -> Portal {
        self.portal_with(|_| {}).await
    }

    pub async fn portal_with(&self, edit: impl FnOnce(&mut redress_cli::config::Config)) -> Portal {
        self.portal_with_kdf(KdfParams::danger_test_minimum(), edit).await
    }

    /// A portal whose password keys cost `kdf`.
    pub async fn portal_with_kdf(
        &self,
        kdf: KdfParams,
        edit: impl FnOnce(&mut redress_cli::config::Config),
    ) -> Portal {
        self.portal_tuned(kdf, edit, |_| {}).await
    }

    /// A portal whose settings are changed after they are read from the configuration
    /// (what the configuration does not offer).
    pub async fn portal_tuned(
        &self,
        kdf: KdfParams,
        edit: impl FnOnce(&mut redress_cli::config::Config),
        tune: impl FnOnce(&mut redress_portal::PortalSettings),
    ) -> Portal {
        let mut config = self.config.clone();
        config.portal.listen = "127.0.0.1:0".into();
        edit(&mut config);
        let read_clock = Arc::clone(&self.clock);
        let overrides = Overrides {
            danger_kdf: Some(kdf),
            clock: Some(Arc::new(move || read_clock.load(Ordering::SeqCst))),
        };
        let mut state = redress_cli::portal_state(&config, self.store.clone(), &overrides)
            .await
            .unwrap();
        tune(&mut state.settings);
        let running = redress_cli::start_portal(config.portal_addr().unwrap(), state, 2).unwrap();
        let handle = running.server.handle();
        tokio::spawn(running.server);
        Portal {
            base: format!("http://{}", running.addr),
            state: running.state,
            handle,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// An invitation made as `redress admin invite` makes it; returns its link's path.
    pub async fn invite(&self, email: &str, role: Role, teams: &[&str]) -> String {
        self.invite_with_capacity(email, role, teams, 5).await
    }

    /// [`Self::invite`], an investigator taking up to `capacity` open cases.
    pub async fn invite_with_capacity(
        &self,
        email: &str,
        role: Role,
        teams: &[&str],
        capacity: u32,
    ) -> String {
        let request = redress_portal::InviteRequest {
            email: email.into(),
            role,
            teams: teams.iter().map(|t| t.to_string()).collect(),
            capacity: (role == Role::Investigator).then_some(capacity),
            valid_hours: 72,
        };
        let invited = redress_portal::invite(&self.store, &request, "cli", self.now())
            .await
            .unwrap();
        invited.link("").to_string()
    }
}

/// A real `redress portal` process on a `TestApp`'s storage, for what only a process of
/// its own shows: its memory. It reads the real clock. Killed when dropped.
pub struct PortalProcess {
    child: std::process::Child,
    pub base: String,
}

impl PortalProcess {
    pub fn start(app: &TestApp) -> Self {
        Self::start_with(app, &[])
    }

    /// [`Self::start`] with these variables in its environment besides.
    pub fn start_with(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let mut child = app
            .redress_command()
            .arg("portal")
            .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Portal listening on ") {
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                }
            }
        });
        let base = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
        Self { child, base }
    }

    /// A browser logged in as `who`, with the code of the real clock's next step.
    pub async fn log_in(&self, who: &Person) -> Agent {
        let agent = Agent::new(&self.base);
        let code = who.totp.code_at(redress_cli::system_clock() + 30);
        let login = agent
            .submit(
                "/login",
                "/login",
                &[
                    ("email", &who.email),
                    ("password", &who.password),
                    ("code", &code),
                ],
            )
            .await;
        assert_eq!(login.status, 303, "{}", login.body);
        agent
    }

    /// A line of the process's `/proc/PID/status`, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// The peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// The memory resident now (`VmRSS`), in KiB.
    pub fn resident_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Starts the peak again from what is resident now (Linux's `clear_refs`).
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: its own cookie jar, no redirects followed.
pub struct Agent {
    pub client: reqwest::Client,
    pub base: String,
    jar: Arc<reqwest::cookie::Jar>,
}

/// A page as fetched: status, headers and body.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The text of the element with `id`.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let tag = tags(&self.body).into_iter().find(|t| t.attr("id") == Some(id))?;
        Some(inner_text(&self.body, &tag))
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

impl Agent {
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_provider(Arc::clone(&jar))
                .build()
                .unwrap(),
            base: base.to_owned(),
            jar,
        }
    }

    /// The value of the cookie `name` this browser holds for the portal.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookie_at("/", name)
    }

    /// The value of the cookie `name` this browser sends with requests for `path`.
    pub fn cookie_at(&self, path: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = format!("{}{path}", self.base).parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    async fn page(res: reqwest::Response) -> Page {
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts `fields` (and nothing else) to `path`.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::page(res).await
    }

    /// Fills in the form of `page` and posts it to `action` with the page's CSRF token,
    /// as a browser submitting it would.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let shown = self.get(page).await;
        assert!(shown.status < 400, "{page}: {}", shown.status);
        let token = hidden_value(&shown.body, redress_web::CSRF_FIELD).expect("a CSRF token on the page");
        let mut all = vec![(redress_web::CSRF_FIELD, token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }
}

/// Someone with a portal account, and the browser they use.
pub struct Person {
    pub agent: Agent,
    pub email: String,
    pub password: String,
    pub totp: TotpSecret,
    pub codes: Vec<String>,
    pub id: AccountId,
}

impl Person {
    /// Logs in with the password and the authenticator's current code, half a minute
    /// after whatever came before, so the code is a fresh one.
    pub async fn login(&self, app: &TestApp) -> Page {
        app.advance(30);
        let code = self.totp.code_at(app.now());
        self.login_with(&self.password, &code).await
    }

    pub async fn login_with(&self, password: &str, code: &str) -> Page {
        self.agent
            .submit(
                "/login",
                "/login",
                &[("email", &self.email), ("password", password), ("code", code)],
            )
            .await
    }

    pub async fn logout(&self) -> Page {
        self.agent.submit("/account", "/logout", &[]).await
    }
}

/// Takes an invitation link through setup in a fresh browser: the password, the
/// authenticator (its key read from the page, the code computed from it), the
/// recovery codes. The person is then logged in.
pub async fn set_up(app: &TestApp, portal: &Portal, link: &str, email: &str) -> Person {
    let agent = Agent::new(&portal.base);
    let done = agent
        .submit(link, link, &[("password", PASSWORD), ("confirm", PASSWORD)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/enrol");
    let enrol = agent.get("/enrol").await;
    assert_eq!(enrol.status, 200, "{}", enrol.body);
    let secret = enrol.text_of("totp-secret").expect("the key as text");
    let totp = TotpSecret::from_base32(&secret).expect("a base32 key");
    let confirmed = agent
        .submit("/enrol", "/enrol", &[("code", &totp.code_at(app.now()))])
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(confirmed.location(), "/enrol/codes");
    let shown = agent.get("/enrol/codes").await;
    assert_eq!(shown.status, 200);
    let list = tags(&shown.body)
        .into_iter()
        .find(|t| t.attr("id") == Some("recovery-codes"))
        .unwrap();
    let codes: Vec<String> = inner_text(&shown.body, &list)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    let id = app.store.account_by_email(email).await.unwrap().unwrap().id;
    Person {
        agent,
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        totp,
        codes,
        id,
    }
}

/// Invites and sets up `email` with `role` (an investigator in `teams`).
pub async fn person(app: &TestApp, portal: &Portal, email: &str, role: Role, teams: &[&str]) -> Person {
    let link = app.invite(email, role, teams).await;
    set_up(app, portal, &link, email).await
}

/// Everyone the authorization tests need: two investigators with a case each, an admin
/// and an auditor, all logged in, and a browser with no session.
pub struct Cast {
    pub anonymous: Agent,
    pub a: Person,
    pub b: Person,
    pub admin: Person,
    pub auditor: Person,
    /// A's case and B's case.
    pub case_a: String,
    pub case_b: String,
    /// The evidence file of A's case.
    pub file_a: redress_domain::ObjectId,
    /// A customer in the register, added by the admin.
    pub customer: redress_domain::CustomerId,
}

impl Cast {
    pub async fn new(app: &TestApp, portal: &Portal) -> Self {
        let a = person(
            app,
            portal,
            "a-investigator@example.org",
            Role::Investigator,
            &["triage-desk"],
        )
        .await;
        let b = person(
            app,
            portal,
            "b-investigator@example.org",
            Role::Investigator,
            &["triage-desk"],
        )
        .await;
        let admin = person(app, portal, "admin@example.org", Role::Admin, &[]).await;
        let auditor = person(app, portal, "auditor@example.org", Role::Auditor, &[]).await;
        let customer = add_customer(&admin, "Example Ministry", "Ruritania", "Implant").await;
        // Routing gives each new case to the least loaded of the team, A first.
        let worker = app.worker("cast", None);
        let mut refs = Vec::new();
        for what in [
            "The first report, long enough.",
            "The second report, long enough.",
        ] {
            let res = app
                .api_submit(&good_answers(what), &[("device.log", b"2026-05-01 started")])
                .await;
            assert_eq!(res.status(), 201);
            let body: serde_json::Value = res.json().await.unwrap();
            refs.push(body["case_ref"].as_str().unwrap().to_owned());
            worker.run_until_idle().await.unwrap();
        }
        let owner = |who: &Person| {
            let who = who.id;
            async move {
                let account = app.store.account(who).await.unwrap().unwrap();
                let mine = app
                    .store
                    .assigned_cases(account.investigator_id.unwrap())
                    .await
                    .unwrap();
                assert_eq!(mine.len(), 1, "one case each");
                mine[0].case_ref.to_string()
            }
        };
        let (case_a, case_b) = (owner(&a).await, owner(&b).await);
        assert_ne!(case_a, case_b);
        assert!(refs.contains(&case_a) && refs.contains(&case_b));
        let file_a = app
            .store
            .objects(app.case(&case_a).await.id)
            .await
            .unwrap()
            .into_iter()
            .find(|(_, kind)| *kind == redress_domain::ObjectKind::Evidence)
            .unwrap()
            .0;
        Self {
            anonymous: Agent::new(&portal.base),
            a,
            b,
            admin,
            auditor,
            case_a,
            case_b,
            file_a,
            customer,
        }
    }
}

/// A person's identity, opened with their password as a login opens it.
pub async fn identity_of(app: &TestApp, who: &Person) -> redress_crypto::SecretIdentity {
    let account = app.store.account(who.id).await.unwrap().unwrap();
    let params = redress_crypto::KdfParams {
        m_kib: account.kdf.m_kib,
        t: account.kdf.t,
        p: account.kdf.p,
    };
    let key = redress_crypto::derive_password_key(
        &redress_crypto::Password::new(who.password.clone()),
        &account.kdf.salt,
        &params,
    )
    .unwrap();
    redress_crypto::unwrap_identity(&account.identity_wrap, &key).unwrap()
}

/// Adds a customer to the register as `admin`, through its form; returns its id.
pub async fn add_customer(
    admin: &Person,
    name: &str,
    country: &str,
    products: &str,
) -> redress_domain::CustomerId {
    let added = admin
        .agent
        .submit(
            "/admin/customers",
            "/admin/customers",
            &[("name", name), ("country", country), ("products", products)],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let id = added
        .location()
        .strip_prefix("/customers/")
        .and_then(|rest| rest.strip_suffix("?done=add"))
        .unwrap_or_else(|| panic!("to the customer's page: {}", added.location()));
    redress_domain::CustomerId::parse(id).unwrap()
}

/// Asserts that `customer` is active and its status never changed.
pub async fn assert_untouched(app: &TestApp, customer: redress_domain::CustomerId) {
    let stored = app.store.customer(customer).await.unwrap().unwrap();
    assert_eq!(stored.status, redress_domain::CustomerStatus::Active);
    assert!(app.store.customer_changes(customer).await.unwrap().is_empty());
}
