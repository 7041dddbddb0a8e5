//! `redress check-config`: finds every problem at once instead of the first.

use crate::config::Config;
use crate::keys;

/// Which process a host runs, for what its configuration must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// `redress serve`: everything, including the triage identity.
    Serve,
    /// `redress intake`: public keys only.
    Intake,
    /// `redress worker`: the triage identity, fingerprint key, rules and mail.
    Worker,
    /// `redress portal`: the portal's secret; no triage identity or fingerprint key.
    Portal,
}

/// All problems with the configuration and the key files, in a readable form.
pub async fn problems(config: &Config, host: Host) -> Vec<String> {
    let worker_host = matches!(host, Host::Serve | Host::Worker);
    let portal_host = matches!(host, Host::Serve | Host::Portal);
    let mut problems = Vec::new();
    if let Err(e) = config.intake_addr() {
        problems.push(e);
    }
    if let Err(e) = config.portal_addr() {
        problems.push(e);
    }
    let url = config.database_url();
    if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        problems.push(format!(
            "database.url must start with sqlite:// or postgres:// (got {:?})",
            scheme_only(&url)
        ));
    } else if let Some(problem) = database_problem(&url).await {
        problems.push(problem);
    }
    if let Err(e) = config.check_blob_backend() {
        problems.push(e);
    }
    if let Err(e) = keys::intake_keys(config) {
        problems.push(e);
    }
    if worker_host {
        keys::check_triage_identity(config, &mut problems);
        worker_problems(config, &mut problems);
    }
    let door = match host {
        Host::Intake => Some("intake"),
        Host::Portal => Some("portal"),
        Host::Serve | Host::Worker => None,
    };
    problems.extend(keys::misplaced_secrets(config, door));
    let portal_secret = config.portal_secret_path();
    // `serve` makes a missing one; a portal host must have it (and the previous one
    // after a rotation must pass the same checks).
    if (host == Host::Portal || portal_secret.exists())
        && host != Host::Intake
        && let Err(e) = crate::secret_rotation::portal_secrets(config)
    {
        problems.push(format!("{e:#}"));
    }
    if portal_host {
        if let Err(e) = config.portal.password_kdf.check(false) {
            problems.push(format!("portal.password_kdf: {e}"));
        }
        if config.portal.session_idle_mins < 1 || config.portal.session_hours < 1 {
            problems.push("portal.session_idle_mins and portal.session_hours must be at least 1".into());
        }
    }
    if let Err(e) = config.receipt_kdf.check(false) {
        problems.push(format!("receipt_kdf: {e}"));
    }
    match crate::questionnaire(config) {
        Err(e) => problems.push(format!("questionnaire: {e:#}")),
        Ok(q) => {
            let needed = crate::open_files_needed(&crate::gate_sizes(config, &q));
            if let Err(problem) = crate::raise_open_files_limit(needed) {
                problems.push(problem);
            }
        }
    }
    if config.shared_with_group
        && let Some(problem) = shared_folder_touches_access_times(&config.data_dir)
    {
        problems.push(problem);
    }
    if config.limits.max_files == 0 || config.limits.max_file_mib == 0 || config.limits.max_report_mib == 0 {
        problems.push("limits must be greater than zero".into());
    }
    if !["text", "json"].contains(&config.log.format.as_str()) {
        problems.push(format!(
            "log.format must be \"text\" or \"json\" (got {:?})",
            config.log.format
        ));
    }
    problems
}

fn worker_problems(config: &Config, problems: &mut Vec<String>) {
    if let Err(e) = crate::worker::fingerprint_key(config) {
        problems.push(format!("{e:#}"));
    }
    if let Err(e) = crate::worker::rules(config) {
        problems.push(format!("worker.rules_file: {e:#}"));
    }
    if let Err(e) = crate::worker::indicators(config, crate::system_clock()) {
        problems.push(format!("worker.indicators_dir: {e:#}"));
    }
    if crate::config::non_empty(&config.mail.smtp_url).is_some()
        && let Err(e) = redress_mail::Mailer::new(&config.mail)
    {
        problems.push(format!("{e}"));
    }
}

/// The settings an operator most often needs to confirm, without secrets: a password in
/// the database URL is replaced by `***`.
pub fn summary(config: &Config) -> Vec<String> {
    vec![
        format!("data_dir = {}", config.data_dir.display()),
        format!("shared_with_group = {}", config.shared_with_group),
        format!("database.url = {}", redact_password(&config.database_url())),
        format!("blobs.backend = {}", config.blobs.backend.as_str()),
        format!("intake.listen = {}", config.intake.listen),
        format!("portal.listen = {}", config.portal.listen),
        format!(
            "triage identity file = {}",
            config.triage_identity_path().display()
        ),
    ]
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (location, query) = match rest.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (rest, None),
    };
    // The last '@' ends the user info: a password may itself contain '@'.
    let location = match location.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        _ => location.to_owned(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}://{location}?{q}"),
        None => format!("{scheme}://{location}"),
    }
}

/// A URL's scheme, so a password in a bad URL is not echoed.
fn scheme_only(url: &str) -> String {
    url.split_once(':')
        .map_or_else(|| "<no scheme>".to_owned(), |(s, _)| format!("{s}:…"))
}

/// Whether the database can be reached. A check creates nothing: a SQLite file is opened
/// only if it exists (`serve` and `migrate` make it, with the right permissions).
async fn database_problem(url: &str) -> Option<String> {
    let url = match url.strip_prefix("sqlite://") {
        Some(rest) => {
            let path = rest.split('?').next().unwrap_or(rest);
            if !std::path::Path::new(path).exists() {
                return None;
            }
            url.replace("mode=rwc", "mode=rw")
        }
        None => url.to_owned(),
    };
    let e = redress_store::Store::connect(&url).await.err()?;
    Some(format!("database.url: cannot connect: {e}"))
}

/// With the data folder shared between users, a process may read blobs another user
/// owns, and only an owner may read without touching the access time (`O_NOATIME`).
/// On a `relatime` mount the first read after a blob's hour-stamped write sets its
/// access time to the second: the folder's file system must be mounted `noatime`.
fn shared_folder_touches_access_times(data_dir: &std::path::Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let dir = std::fs::canonicalize(data_dir).ok()?;
    let options = mount_options(&mounts, &dir)?;
    (!options.iter().any(|o| o == "noatime")).then(|| {
        format!(
            "shared_with_group: the file system of {} is mounted without noatime, so reading \
             a blob another user wrote records the second it was read: remount it with \
             noatime (and add noatime to its line in /etc/fstab)",
            data_dir.display()
        )
    })
}

/// The per-mount options of the mount holding `path`, from `/proc/self/mountinfo`
/// text: the longest mount point that contains it.
fn mount_options(mountinfo: &str, path: &std::path::Path) -> Option<Vec<String>> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = unescape(fields.get(4)?);
            let options = fields.get(5)?.split(',').map(str::to_owned).collect();
            path.starts_with(&point).then_some((point, options))
        })
        .max_by_key(|(point, _)| point.len())
        .map(|(_, options)| options)
}

/// Mount points escape space, tab, newline and backslash as `\ooo` (octal).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{mount_options, redact_password, unescape};
    use crate::config::Config;

    #[tokio::test]
    async fn a_shared_data_folder_without_noatime_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let noatime = mount_options(&mounts, &std::fs::canonicalize(&data).unwrap())
            .unwrap()
            .contains(&"noatime".to_owned());
        let said = |shared: bool| {
            let config = Config {
                data_dir: data.clone(),
                shared_with_group: shared,
                ..Config::default()
            };
            async move { super::problems(&config, super::Host::Intake).await.join("\n") }
        };
        let message = "mounted without noatime";
        assert_eq!(said(true).await.contains(message), !noatime, "this host's mount");
        assert!(
            !said(false).await.contains(message),
            "only a shared folder needs it"
        );
    }

    #[test]
    fn the_mount_holding_a_folder_is_the_longest_that_contains_it() {
        let mountinfo = "\
27 1 0:25 / / rw,relatime - overlay overlay rw
30 27 8:1 / /var rw,relatime - ext4 /dev/sda1 rw
31 30 8:2 / /var/lib/red\\040data rw,noatime,nodev - ext4 /dev/sda2 rw
32 30 8:3 / /var/lib/red rw,noatime - ext4 /dev/sda3 rw
";
        let of = |p: &str| mount_options(mountinfo, std::path::Path::new(p)).unwrap();
        assert!(of("/var/lib/red data/blobs").contains(&"noatime".to_owned()));
        assert_eq!(
            of("/var/lib/redress"),
            ["rw", "relatime"],
            "a path, not a string, prefix"
        );
        assert_eq!(of("/srv"), ["rw", "relatime"]);
        assert_eq!(unescape("a\\040b\\134c\\x"), "a b\\c\\x");
    }

    #[test]
    fn passwords_are_hidden_wherever_they_are() {
        assert_eq!(redact_password("postgres://u:p@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact_password("postgres://u:p@ss@word@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_password("postgres://h/db?user=u&password=secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact_password("sqlite://data/redress.db?mode=rwc"),
            "sqlite://data/redress.db?mode=rwc"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
    }
}
