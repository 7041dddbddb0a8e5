//! Events counted in memory and written once an hour.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// A counted event: a group (`intake.refused`) and a name within it (`busy`), both fixed
/// strings of the program.
pub type Event = (&'static str, &'static str);

/// What was counted since the last report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// (group, event) → how many times.
    pub events: BTreeMap<Event, u64>,
    /// (group, event) → the last detail noted for it (an error's text).
    pub notes: BTreeMap<Event, String>,
    /// Warnings raised, by key: written once per report.
    pub warnings: BTreeMap<&'static str, String>,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.warnings.is_empty()
    }
}

fn counts() -> MutexGuard<'static, Counts> {
    static COUNTS: OnceLock<Mutex<Counts>> = OnceLock::new();
    let lock = COUNTS.get_or_init(|| Mutex::new(Counts::default()));
    // A panic while holding the lock leaves plain counters behind: still usable.
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An error and its sources as one line, for a [`note`].
pub fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Counts one occurrence of an event, e.g. `count("intake.refused", "busy")`.
pub fn count(group: &'static str, name: &'static str) {
    add(group, name, 1);
}

/// Counts `n` occurrences at once (blobs a sweep removed, say).
pub fn add(group: &'static str, name: &'static str, n: u64) {
    if n > 0 {
        *counts().events.entry((group, name)).or_default() += n;
    }
}

/// Counts an event and keeps `detail` as its last detail. The detail must hold no id,
/// reference, content or address (an error's cause chain from SQL or I/O is fine).
pub fn note(group: &'static str, name: &'static str, detail: String) {
    let mut c = counts();
    *c.events.entry((group, name)).or_default() += 1;
    c.notes.insert((group, name), detail);
}

/// Raises a warning for an operator (what is wrong and what to do), written at the
/// next hourly report, once however often it was raised.
pub fn warn_hourly(key: &'static str, message: &str) {
    counts().warnings.insert(key, message.to_owned());
}

/// Everything counted since the last call, which starts a new count.
pub fn take() -> Counts {
    std::mem::take(&mut *counts())
}

/// Writes what was counted, then starts counting anew.
fn report() {
    let c = take();
    if c.is_empty() {
        return;
    }
    if !c.events.is_empty() {
        let events: Vec<String> = c
            .events
            .iter()
            .map(|((g, e), n)| format!("{g}.{e}={n}"))
            .collect();
        tracing::info!(target: "redress::hourly", events = %events.join(" "), "counted in the last hour");
    }
    for ((group, event), detail) in &c.notes {
        tracing::warn!(target: "redress::hourly", event = %format!("{group}.{event}"), last = %detail, "last error of the hour");
    }
    for message in c.warnings.values() {
        tracing::warn!(target: "redress::hourly", "{message}");
    }
}

/// Writes the counts at the start of every hour (by `wall_clock`, Unix seconds), and
/// only then: the report's time says nothing about when anything counted happened.
pub fn spawn_hourly_report(wall_clock: fn() -> i64) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(until_next_hour(wall_clock())).await;
            report();
        }
    });
}

/// How long from `now` to the start of the next hour (a second at least, so a clock
/// set back cannot spin this).
fn until_next_hour(now: i64) -> Duration {
    let next = now - now.rem_euclid(3600) + 3600;
    Duration::from_secs(u64::try_from(next - now).unwrap_or(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_notes_and_warnings_come_out_once() {
        let _ = take();
        count("test", "a");
        count("test", "a");
        note("test", "b", "connection refused".into());
        warn_hourly("test.w", "do something");
        warn_hourly("test.w", "do something");
        let c = take();
        assert_eq!(c.events.get(&("test", "a")), Some(&2));
        assert_eq!(c.events.get(&("test", "b")), Some(&1));
        assert_eq!(
            c.notes.get(&("test", "b")).map(String::as_str),
            Some("connection refused")
        );
        assert_eq!(c.warnings.len(), 1);
        assert!(take().is_empty(), "a report starts a new count");
    }

    #[test]
    fn the_report_waits_for_the_next_hour() {
        assert_eq!(until_next_hour(3600), Duration::from_secs(3600));
        assert_eq!(until_next_hour(7199), Duration::from_secs(1));
        assert_eq!(until_next_hour(3601), Duration::from_secs(3599));
    }
}
