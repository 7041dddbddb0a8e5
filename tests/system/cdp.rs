//! Minimal synchronous driver for Debian's headless Chromium over the Chrome
//! `DevTools` Protocol (CDP), for integration tests of plain HTML forms.
//!
//! JavaScript is disabled in the page twice over: by the launch flag
//! `--blink-settings=scriptEnabled=false` and by
//! `Emulation.setScriptExecutionDisabled` on the page target. The driver itself
//! never runs script either: it only uses the Page, DOM, Input, Emulation and
//! Target domains, so what is tested is what a user without JavaScript gets.
//!
//! How it talks to Chromium: Chromium is started with
//! `--remote-debugging-port=0` and writes the chosen port and the browser
//! websocket path to `DevToolsActivePort` in its user-data-dir. The browser
//! socket is used once, for `Target.createTarget`; every page command then goes
//! over a second websocket, `ws://127.0.0.1:PORT/devtools/page/<targetId>`, so
//! no `sessionId` bookkeeping is needed and only that page's events arrive.
//!
//! Interaction with JavaScript disabled (verified with Chromium 156, headless):
//! * text inputs and textareas: [`Browser::fill`] replaces the value
//!   (select-all, then `Input.insertText`; newlines survive in a textarea);
//! * checkboxes: focus + [`Key::Space`] toggles;
//! * radios: focus + [`Key::Space`] checks the focused radio;
//!   [`Key::ArrowDown`] on a focused radio moves the check to the next radio
//!   of the group;
//! * `<select>` (single, not `multiple`): focus + [`Key::ArrowDown`] /
//!   [`Key::ArrowUp`] moves the selection by one option without opening a
//!   popup; it stops at the last/first option. Do not press Space on a
//!   select: it opens the popup, arrows then move only the popup's highlight,
//!   and nothing changes until Enter;
//! * state can be read back without script through CSS pseudo-classes, e.g.
//!   `browser.exists("#cb:checked")` or
//!   `browser.outer_html("#color option:checked")` (the `checked`/`selected`
//!   attributes in the markup only show the defaults, never the live state);
//! * [`Browser::submit_with`] focuses a submit button (or a text input of the
//!   form, which submits implicitly) and presses Enter. Implicit submission
//!   acts as a click on the form's first submit button, so that button's
//!   `name=value` is submitted too. `onsubmit` handlers do not run.
//!
//! Every wait is bounded by [`Browser::set_timeout`] (20 s by default) and
//! fails with an `Err` that says what it was waiting for.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Default bound on every wait (launch, navigation, command round trips).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Socket read timeout: how often a blocked read wakes up to check its deadline.
const POLL: Duration = Duration::from_millis(100);
/// After a submission has loaded, a further navigation starting within this
/// window (meta refresh, chained redirects that commit) is waited for too.
const SETTLE: Duration = Duration::from_millis(250);
/// Cap on buffered events, so a chatty page cannot grow memory without bound.
const MAX_QUEUED_EVENTS: usize = 10_000;

/// Keys that [`Browser::press`] can send to a focused element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Toggles a checkbox, checks a radio, activates a button.
    Space,
    /// Activates a button; submits a form from a text input.
    Enter,
    /// Next option of a `<select>`, next radio of a group.
    ArrowDown,
    /// Previous option of a `<select>`, previous radio of a group.
    ArrowUp,
}

impl Key {
    /// (key, code, windowsVirtualKeyCode, text) as Chromium's Input domain
    /// expects them; keys with text must be sent as `keyDown` so that Blink
    /// also generates the keypress that buttons and implicit submission use.
    fn params(self) -> (&'static str, &'static str, u32, Option<&'static str>) {
        match self {
            Key::Space => (" ", "Space", 32, Some(" ")),
            Key::Enter => ("Enter", "Enter", 13, Some("\r")),
            Key::ArrowDown => ("ArrowDown", "ArrowDown", 40, None),
            Key::ArrowUp => ("ArrowUp", "ArrowUp", 38, None),
        }
    }
}

/// A headless Chromium with one page target. Dropping it kills the process
/// and removes its temporary profile.
pub struct Browser {
    // Declared first so the socket is closed before the process is killed.
    page: Conn,
    // Only held for its Drop (kill + remove the temp dir).
    _process: ChromiumProcess,
    timeout: Duration,
}

impl Browser {
    /// Launches Chromium with JavaScript disabled and opens a blank page.
    /// `None` if no chromium binary is found (so tests can skip).
    pub fn launch() -> Option<Result<Browser, String>> {
        let binary = find_chromium()?;
        Some(Browser::launch_with(&binary))
    }

    /// Like [`Browser::launch`] with an explicit binary.
    pub fn launch_with(binary: &Path) -> Result<Browser, String> {
        let timeout = DEFAULT_TIMEOUT;
        let deadline = Instant::now() + timeout;
        let mut process = ChromiumProcess::spawn(binary)?;
        let (port, browser_path) = process.wait_for_devtools_port(deadline)?;

        let target_id = {
            let mut browser = Conn::connect(port, &browser_path, deadline)?;
            let created = browser.call("Target.createTarget", json!({"url": "about:blank"}), deadline)?;
            str_field(&created, "targetId")?.to_owned()
            // The browser socket closes here; the target stays open because it
            // lives in the default browser context, not one tied to this socket.
        };
        let mut page = Conn::connect(port, &format!("/devtools/page/{target_id}"), deadline)?;
        page.call("Page.enable", json!({}), deadline)?;
        page.call(
            "Emulation.setScriptExecutionDisabled",
            json!({"value": true}),
            deadline,
        )?;
        // Two tabs exist (the launch tab and ours). Focus emulation makes ours
        // act as the focused page whatever the window state, so DOM.focus and
        // key events land as for a user. Chromium 156 worked without it; it
        // is cheap insurance against focus moving between tabs/versions.
        page.call(
            "Emulation.setFocusEmulationEnabled",
            json!({"enabled": true}),
            deadline,
        )?;
        Ok(Browser {
            page,
            _process: process,
            timeout,
        })
    }

    /// Changes the bound on every later wait.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Navigates the page and waits for its load event. Network failures are
    /// errors; HTTP error statuses (404, 500) are not: they load a page.
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        let deadline = self.deadline();
        // Events from before this navigation must not satisfy the wait below.
        self.page.events.clear();
        let nav = self.page.call("Page.navigate", json!({"url": url}), deadline)?;
        if let Some(err) = nav.get("errorText").and_then(Value::as_str)
            && !err.is_empty()
        {
            return Err(format!("navigating to {url} failed: {err}"));
        }
        let Some(loader_id) = nav["loaderId"].as_str().map(str::to_owned) else {
            // Same-document navigation (only the fragment changed): there is
            // no load event, and the reply comes before the URL has changed.
            let main_frame = self.page.main_frame_id.clone();
            return self
                .page
                .wait_event(deadline, |e| {
                    e["method"] == "Page.navigatedWithinDocument"
                        && e["params"]["frameId"].as_str() == main_frame.as_deref()
                })?
                .map(drop)
                .ok_or_else(|| format!("timed out waiting for same-document navigation to {url}"));
        };
        self.wait_for_load(deadline, &format!("navigation to {url}"), Some(&loader_id))
    }

    /// Replaces the value of a text input or textarea with `text`. On
    /// elements that are not editable (select, checkbox) it has no effect.
    pub fn fill(&mut self, css: &str, text: &str) -> Result<(), String> {
        let deadline = self.deadline();
        self.focus(css, deadline)?;
        // Select the current value so the insertion replaces it instead of
        // landing wherever the caret happened to be.
        self.key_event(
            json!({"type": "rawKeyDown", "modifiers": 2, "key": "a", "code": "KeyA",
                   "windowsVirtualKeyCode": 65, "commands": ["selectAll"]}),
            deadline,
        )?;
        self.key_event(
            json!({"type": "keyUp", "modifiers": 2, "key": "a", "code": "KeyA",
                   "windowsVirtualKeyCode": 65}),
            deadline,
        )?;
        if text.is_empty() {
            // insertText("") would leave the selection in place; delete it.
            self.key_event(
                json!({"type": "rawKeyDown", "key": "Backspace", "code": "Backspace",
                       "windowsVirtualKeyCode": 8}),
                deadline,
            )?;
            return self.key_event(
                json!({"type": "keyUp", "key": "Backspace", "code": "Backspace",
                       "windowsVirtualKeyCode": 8}),
                deadline,
            );
        }
        self.page
            .call("Input.insertText", json!({"text": text}), deadline)
            .map(drop)
    }

    /// Focuses the element and presses and releases `key`.
    pub fn press(&mut self, css: &str, key: Key) -> Result<(), String> {
        let deadline = self.deadline();
        self.focus(css, deadline)?;
        self.key(key, deadline)
    }

    /// Sets the files of an `<input type=file>` (relative paths are resolved
    /// against the current directory; missing files are an error).
    pub fn set_files(&mut self, css: &str, paths: &[&Path]) -> Result<(), String> {
        let deadline = self.deadline();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            // Chromium needs absolute paths and silently uploads nothing for
            // a missing file, so resolve and check here.
            let abs =
                std::fs::canonicalize(path).map_err(|e| format!("file to upload {}: {e}", path.display()))?;
            let abs = abs
                .to_str()
                .ok_or_else(|| format!("file path is not UTF-8: {}", abs.display()))?;
            files.push(abs.to_owned());
        }
        let node_id = self.query(css, deadline)?;
        self.page
            .call(
                "DOM.setFileInputFiles",
                json!({"files": files, "nodeId": node_id}),
                deadline,
            )
            .map(drop)
    }

    /// Focuses the element (a submit button, or a text input of the form),
    /// presses Enter, and waits until the resulting navigation(s) — e.g.
    /// POST, 303 redirect, GET — have loaded.
    pub fn submit_with(&mut self, css: &str) -> Result<(), String> {
        let deadline = self.deadline();
        self.focus(css, deadline)?;
        self.page.events.clear();
        self.key(Key::Enter, deadline)?;
        let what = format!("the navigation after pressing Enter on {css}");
        self.wait_for_load(deadline, &what, None)?;
        // A result page may navigate again by itself (meta refresh): if the
        // main frame starts loading again shortly after, wait until it stops.
        // Start/stop also bracket same-document and failed navigations, so
        // unlike waiting for a commit this cannot wait for one that never comes.
        let main_frame = self.page.main_frame_id.clone();
        let frame_event = |e: &Value, method: &str| {
            e["method"] == method && e["params"]["frameId"].as_str() == main_frame.as_deref()
        };
        loop {
            let settle = (Instant::now() + SETTLE).min(deadline);
            let started = self
                .page
                .wait_event(settle, |e| frame_event(e, "Page.frameStartedLoading"))?;
            if started.is_none() {
                return Ok(());
            }
            self.page
                .wait_event(deadline, |e| frame_event(e, "Page.frameStoppedLoading"))?
                .ok_or_else(|| format!("timed out waiting for {what} (follow-up load)"))?;
        }
    }

    /// Focuses the link (as Tab would) and presses Enter: for a link to `#id` on the
    /// same page, waits until the fragment navigation has happened.
    pub fn follow_fragment_link(&mut self, css: &str) -> Result<(), String> {
        let deadline = self.deadline();
        self.focus(css, deadline)?;
        self.page.events.clear();
        self.key(Key::Enter, deadline)?;
        let main_frame = self.page.main_frame_id.clone();
        self.page
            .wait_event(deadline, |e| {
                e["method"] == "Page.navigatedWithinDocument"
                    && e["params"]["frameId"].as_str() == main_frame.as_deref()
            })?
            .map(drop)
            .ok_or_else(|| format!("following {css} did not move within the page"))
    }

    /// Sets an attribute through the DOM domain (no script runs), e.g. `dir` on `html`.
    pub fn set_attribute(&mut self, css: &str, name: &str, value: &str) -> Result<(), String> {
        let deadline = self.deadline();
        let node_id = self.query(css, deadline)?;
        self.page
            .call(
                "DOM.setAttributeValue",
                json!({"nodeId": node_id, "name": name, "value": value}),
                deadline,
            )
            .map(drop)
    }

    /// (width of the laid-out content, width of the viewport) in CSS pixels: a page
    /// wider than its viewport scrolls sideways.
    pub fn content_and_viewport_width(&mut self) -> Result<(f64, f64), String> {
        let deadline = self.deadline();
        let m = self.page.call("Page.getLayoutMetrics", json!({}), deadline)?;
        let content = m["cssContentSize"]["width"]
            .as_f64()
            .ok_or("Page.getLayoutMetrics: no cssContentSize.width")?;
        let viewport = m["cssLayoutViewport"]["clientWidth"]
            .as_f64()
            .ok_or("Page.getLayoutMetrics: no cssLayoutViewport.clientWidth")?;
        Ok((content, viewport))
    }

    /// The outer HTML of the first element matching `css`.
    pub fn outer_html(&mut self, css: &str) -> Result<String, String> {
        let deadline = self.deadline();
        let node_id = self.query(css, deadline)?;
        let res = self
            .page
            .call("DOM.getOuterHTML", json!({"nodeId": node_id}), deadline)?;
        Ok(str_field(&res, "outerHTML")?.to_owned())
    }

    /// Whether any element matches `css`. With pseudo-classes this reads live
    /// form state without script: `#cb:checked`, `#sel option:checked`.
    pub fn exists(&mut self, css: &str) -> Result<bool, String> {
        let deadline = self.deadline();
        Ok(self.query_opt(css, deadline)?.is_some())
    }

    /// URL of the page's current history entry (after redirects).
    pub fn current_url(&mut self) -> Result<String, String> {
        let deadline = self.deadline();
        let history = self.page.call("Page.getNavigationHistory", json!({}), deadline)?;
        let index = history["currentIndex"]
            .as_u64()
            .ok_or("Page.getNavigationHistory: no currentIndex")?;
        let entry = usize::try_from(index)
            .ok()
            .and_then(|i| history["entries"].get(i))
            .ok_or("Page.getNavigationHistory: currentIndex out of range")?;
        Ok(str_field(entry, "url")?.to_owned())
    }

    /// Proves that scripts do not run: loads a page whose inline script would
    /// rename an element, and checks that it was not renamed and that the
    /// `<noscript>` content was parsed as markup. Leaves that page loaded.
    pub fn scripts_disabled_check(&mut self) -> Result<(), String> {
        self.navigate(
            "data:text/html,<p id=untouched></p>\
             <script>document.getElementById('untouched').id='js-ran'</script>\
             <noscript><p id=noscript></p></noscript>",
        )?;
        if self.exists("#js-ran")? || !self.exists("#untouched")? {
            return Err("JavaScript ran in the page".into());
        }
        if !self.exists("#noscript")? {
            return Err("<noscript> was not rendered, so scripting is on".into());
        }
        Ok(())
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Waits for a main-frame commit and then the load event after it, so a
    /// load event of the page we came from cannot end the wait early. With a
    /// `loader_id` (known for Page.navigate) only that navigation's commit
    /// counts, which also rules out events still in flight from before.
    fn wait_for_load(
        &mut self,
        deadline: Instant,
        what: &str,
        loader_id: Option<&str>,
    ) -> Result<(), String> {
        let timed_out = |stage: &str| format!("timed out waiting for {what} ({stage})");
        self.page
            .wait_event(deadline, |e| {
                is_main_frame_navigated(e)
                    && loader_id.is_none_or(|id| e["params"]["frame"]["loaderId"] == id)
            })?
            .ok_or_else(|| timed_out("no main-frame navigation committed"))?;
        self.page
            .wait_event(deadline, |e| e["method"] == "Page.loadEventFired")?
            .ok_or_else(|| timed_out("committed but the load event never fired"))?;
        Ok(())
    }

    fn query_opt(&mut self, css: &str, deadline: Instant) -> Result<Option<i64>, String> {
        // A fresh DOM.getDocument per query: node ids die with every
        // navigation, and asking again is cheap and always valid.
        let doc = self.page.call("DOM.getDocument", json!({"depth": 0}), deadline)?;
        let root = doc["root"]["nodeId"]
            .as_i64()
            .ok_or("DOM.getDocument: no root nodeId")?;
        let found = self.page.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": css}),
            deadline,
        )?;
        match found["nodeId"].as_i64() {
            Some(0) | None => Ok(None),
            Some(id) => Ok(Some(id)),
        }
    }

    fn query(&mut self, css: &str, deadline: Instant) -> Result<i64, String> {
        self.query_opt(css, deadline)?
            .ok_or_else(|| format!("no element matches {css:?}"))
    }

    fn focus(&mut self, css: &str, deadline: Instant) -> Result<(), String> {
        let node_id = self.query(css, deadline)?;
        self.page
            .call("DOM.focus", json!({"nodeId": node_id}), deadline)
            .map(drop)
            .map_err(|e| format!("focusing {css:?}: {e}"))
    }

    fn key(&mut self, key: Key, deadline: Instant) -> Result<(), String> {
        let (name, code, vk, text) = key.params();
        let down = match text {
            Some(text) => json!({"type": "keyDown", "key": name, "code": code,
                                 "windowsVirtualKeyCode": vk, "text": text}),
            None => json!({"type": "rawKeyDown", "key": name, "code": code,
                           "windowsVirtualKeyCode": vk}),
        };
        self.key_event(down, deadline)?;
        self.key_event(
            json!({"type": "keyUp", "key": name, "code": code, "windowsVirtualKeyCode": vk}),
            deadline,
        )
    }

    fn key_event(&mut self, params: Value, deadline: Instant) -> Result<(), String> {
        self.page
            .call("Input.dispatchKeyEvent", params, deadline)
            .map(drop)
    }
}

fn is_main_frame_navigated(event: &Value) -> bool {
    event["method"] == "Page.frameNavigated" && event["params"]["frame"]["parentId"].is_null()
}

fn str_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("CDP reply has no string {key:?}: {value}"))
}

/// `chromium` on PATH, else Debian's `/usr/bin/chromium`.
fn find_chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/bin/chromium");
        debian.is_file().then_some(debian)
    })
}

/// The Chromium child and its temporary directory; killed and removed on
/// Drop, including when launching fails half-way.
struct ChromiumProcess {
    child: Child,
    /// Holds `profile/` (the user-data-dir) and `chromium.log` (its stderr).
    dir: PathBuf,
}

impl ChromiumProcess {
    fn spawn(binary: &Path) -> Result<ChromiumProcess, String> {
        let dir = fresh_temp_dir()?;
        let profile = dir.join("profile");
        let log = std::fs::File::create(dir.join("chromium.log"))
            .map_err(|e| format!("creating {}: {e}", dir.display()));
        let log = match log {
            Ok(log) => log,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--blink-settings=scriptEnabled=false",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Kept in a file, not a pipe: nobody drains a pipe, and a full
            // pipe would block Chromium. Its tail goes into launch errors.
            .stderr(log)
            .spawn();
        match child {
            Ok(child) => Ok(ChromiumProcess { child, dir }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(format!("starting {}: {e}", binary.display()))
            }
        }
    }

    /// Polls `DevToolsActivePort`: line 1 is the port, line 2 the browser
    /// websocket path.
    fn wait_for_devtools_port(&mut self, deadline: Instant) -> Result<(u16, String), String> {
        let file = self.dir.join("profile").join("DevToolsActivePort");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "chromium exited early ({status}); its stderr ends with:\n{}",
                    self.log_tail()
                ));
            }
            if let Ok(content) = std::fs::read_to_string(&file) {
                let mut lines = content.lines();
                let port = lines.next().and_then(|l| l.trim().parse::<u16>().ok());
                let path = lines.next().map(str::trim);
                // The file is not written atomically: only accept it once the
                // path holds a whole 36-character browser GUID.
                if let (Some(port), Some(path)) = (port, path) {
                    let guid = path.strip_prefix("/devtools/browser/").unwrap_or_default();
                    if port != 0 && guid.len() >= 36 {
                        return Ok((port, path.to_owned()));
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out waiting for {}; chromium's stderr ends with:\n{}",
                    file.display(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("chromium.log")) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.char_indices().rev().nth(2000).map_or(0, |(i, _)| i);
        text[start..].to_owned()
    }
}

impl Drop for ChromiumProcess {
    fn drop(&mut self) {
        // `chromium` is Debian's wrapper script, but it `exec`s the real
        // binary, so this pid is the browser; its zygote and renderers exit
        // on their own when their IPC channel to it closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Late-exiting helpers may still be writing into the profile; retry
        // briefly instead of leaving the directory behind.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn fresh_temp_dir() -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cdp-chromium-{}-{nanos}-{n}", std::process::id()));
    // create_dir, not create_dir_all: a collision must fail, never share.
    std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// One CDP websocket: numbered commands, replies matched by `id`, and a
/// queue of the `Page.*` events seen while waiting for replies.
struct Conn {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Page events read while waiting for a reply, oldest first.
    events: VecDeque<Value>,
    main_frame_id: Option<String>,
}

impl Conn {
    fn connect(port: u16, path: &str, deadline: Instant) -> Result<Conn, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let url = format!("ws://127.0.0.1:{port}{path}");
        let remaining = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("timed out before connecting to {url}"))?;
        let stream =
            TcpStream::connect_timeout(&addr, remaining).map_err(|e| format!("connecting to {url}: {e}"))?;
        // Bounded handshake; afterwards short read timeouts let every wait
        // check its own deadline instead of blocking forever.
        let io = |e: std::io::Error| format!("configuring socket for {url}: {e}");
        stream.set_read_timeout(Some(remaining)).map_err(io)?;
        stream.set_write_timeout(Some(remaining)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let (ws, _) = tungstenite::client::client(url.as_str(), stream)
            .map_err(|e| format!("websocket handshake with {url}: {e}"))?;
        ws.get_ref().set_read_timeout(Some(POLL)).map_err(io)?;
        let mut conn = Conn {
            ws,
            next_id: 1,
            events: VecDeque::new(),
            main_frame_id: None,
        };
        if path.starts_with("/devtools/page/") {
            // The target id of a page is its main frame's id in Chromium.
            conn.main_frame_id = path.rsplit('/').next().map(str::to_owned);
        }
        Ok(conn)
    }

    /// Sends a command and waits for the reply with the same id.
    fn call(&mut self, method: &str, params: Value, deadline: Instant) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        // Built by hand rather than with json! so `params` is moved, not cloned.
        let mut msg = serde_json::Map::new();
        msg.insert("id".into(), id.into());
        msg.insert("method".into(), method.into());
        msg.insert("params".into(), params);
        let msg = Value::Object(msg).to_string();
        self.ws
            .send(Message::text(msg))
            .map_err(|e| format!("sending {method}: {e}"))?;
        loop {
            let msg = self
                .read(deadline)?
                .ok_or_else(|| format!("timed out waiting for the reply to {method}"))?;
            if msg["id"].as_u64() == Some(id) {
                if let Some(err) = msg.get("error") {
                    return Err(format!("{method} failed: {err}"));
                }
                return Ok(msg["result"].clone());
            }
            // Replies to commands that timed out earlier are dropped; page
            // events are kept because a navigation wait may need them next.
            if msg["method"].as_str().is_some_and(|m| m.starts_with("Page.")) {
                if self.events.len() >= MAX_QUEUED_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(msg);
            }
        }
    }

    /// First event matching `pred`, from the queue or the socket; events
    /// before it are discarded. `Ok(None)` when the deadline passes.
    fn wait_event(
        &mut self,
        deadline: Instant,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, String> {
        while let Some(event) = self.events.pop_front() {
            if pred(&event) {
                return Ok(Some(event));
            }
        }
        while let Some(msg) = self.read(deadline)? {
            if msg.get("method").is_some() && pred(&msg) {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }

    /// Next JSON message, or `None` once the deadline has passed.
    fn read(&mut self, deadline: Instant) -> Result<Option<Value>, String> {
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .map_err(|e| format!("invalid JSON from Chromium: {e}"));
                }
                Ok(Message::Close(_)) => {
                    return Err("Chromium closed the DevTools connection".into());
                }
                // Pings are answered by tungstenite itself; CDP sends no binary.
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("DevTools websocket: {e}")),
            }
        }
        Ok(None)
    }
}
