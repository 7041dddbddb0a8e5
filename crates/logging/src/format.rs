//! The subscriber: hour-only times, Redress's own crates at the asked level, everything
//! else at warnings, panics withheld.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// Redress's own log targets (crate names).
const OWN: [&str; 12] = [
    "redress",
    "redress_cli",
    "redress_crypto",
    "redress_domain",
    "redress_indicators",
    "redress_intake",
    "redress_keychain",
    "redress_logging",
    "redress_mail",
    "redress_scrub",
    "redress_store",
    "redress_web",
];
const WORKER: &str = "redress_worker";

/// Writes the hour only: `2026-12-01T09Z`.
struct Hour;

impl FormatTime for Hour {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = time::OffsetDateTime::now_utc();
        write!(
            w,
            "{:04}-{:02}-{:02}T{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour()
        )
    }
}

/// The filter for `asked`: a bare level (`info`, `trace`…) applies to Redress's own
/// crates, everything else stays at `warn`; directives that name a target apply as
/// written, so `RUST_LOG=info,sqlx=debug` still reaches a library on purpose.
pub fn redress_directives(asked: &str) -> String {
    let mut directives = vec!["warn".to_owned()];
    for part in asked.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.contains('=') {
            directives.push(part.to_owned());
        } else {
            directives.extend(OWN.iter().chain([&WORKER]).map(|t| format!("{t}={part}")));
        }
    }
    // Parsers of evidence files log about the files they read: never.
    directives.extend(["lopdf=off".to_owned(), "zip=off".to_owned()]);
    directives.join(",")
}

/// Installs the subscriber (on standard error) and the panic hook. `asked` is
/// `RUST_LOG` if set, else the configured level.
pub fn init(asked: &str, json: bool) {
    let filter = EnvFilter::try_new(redress_directives(asked)).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colours only for a person at a terminal, not for journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_timer(Hour);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    std::panic::set_hook(Box::new(|_| {
        if std::thread::current().name() == Some("main") {
            // The process is ending: say so, without what or where.
            eprintln!("redress panicked (message and location withheld)");
        } else {
            crate::count("process", "panic");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_reaches_our_crates_only() {
        let d = redress_directives("trace");
        assert!(d.starts_with("warn,"), "{d}");
        assert!(
            d.contains("redress_intake=trace") && d.contains("redress_worker=trace"),
            "{d}"
        );
        assert!(!d.contains("sqlx"), "{d}");
        assert!(d.ends_with("lopdf=off,zip=off"), "{d}");
        let named = redress_directives("info,sqlx=debug");
        assert!(
            named.contains("sqlx=debug") && named.contains("redress_store=info"),
            "{named}"
        );
        assert!(EnvFilter::try_new(d).is_ok());
    }
}
