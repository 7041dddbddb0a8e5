use std::fmt;
use std::net::Ipv4Addr;

/// The kind of observable a matched comparison was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Observable {
    DomainName,
    Url,
    Ipv4Addr,
    EmailAddr,
    FileHash(HashAlgo),
    ProcessName,
}

impl Observable {
    /// The STIX object path this observable comes from, e.g. `file:hashes.'SHA-256'`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DomainName => "domain-name:value",
            Self::Url => "url:value",
            Self::Ipv4Addr => "ipv4-addr:value",
            Self::EmailAddr => "email-addr:value",
            Self::FileHash(HashAlgo::Md5) => "file:hashes.MD5",
            Self::FileHash(HashAlgo::Sha1) => "file:hashes.'SHA-1'",
            Self::FileHash(HashAlgo::Sha256) => "file:hashes.'SHA-256'",
            Self::FileHash(HashAlgo::Sha512) => "file:hashes.'SHA-512'",
            Self::ProcessName => "process:name",
        }
    }
}

impl fmt::Display for Observable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File hash algorithms the scanner computes and matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 4] = [Self::Md5, Self::Sha1, Self::Sha256, Self::Sha512];

    /// Accepts the STIX vocabulary names (`MD5`, `SHA-1`, `SHA-256`, `SHA-512`) in any case,
    /// with or without the hyphen.
    pub fn from_stix_name(name: &str) -> Option<Self> {
        let folded: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .collect::<String>()
            .to_ascii_uppercase();
        match folded.as_str() {
            "MD5" => Some(Self::Md5),
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Length of the digest written as hexadecimal.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// One comparison that can be looked for, with its value in canonical form. `value` is what
/// a match reports; `rule` is the same value parsed for the lookup tables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Atom {
    pub value: String,
    pub rule: Rule,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Rule {
    /// Lower-case name; matches the name itself and any subdomain.
    Domain,
    /// `path_at` is where the case-sensitive part (path, query) starts; 0 < path_at <= len.
    Url {
        path_at: usize,
    },
    Ipv4 {
        network: u32,
        prefix: u8,
    },
    Email,
    Hash(HashAlgo),
    Process,
}

impl Atom {
    pub fn observable(&self) -> Observable {
        match self.rule {
            Rule::Domain => Observable::DomainName,
            Rule::Url { .. } => Observable::Url,
            Rule::Ipv4 { .. } => Observable::Ipv4Addr,
            Rule::Email => Observable::EmailAddr,
            Rule::Hash(algo) => Observable::FileHash(algo),
            Rule::Process => Observable::ProcessName,
        }
    }

    pub fn new(observable: Observable, raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("empty value");
        }
        if raw.chars().any(char::is_control) {
            return Err("control character in value");
        }
        match observable {
            Observable::DomainName => domain(raw).map(|value| Self {
                value,
                rule: Rule::Domain,
            }),
            Observable::Url => url(raw),
            Observable::Ipv4Addr => ipv4_network(raw),
            Observable::EmailAddr => email(raw).map(|value| Self {
                value,
                rule: Rule::Email,
            }),
            Observable::FileHash(algo) => hash(algo, raw).map(|value| Self {
                value,
                rule: Rule::Hash(algo),
            }),
            Observable::ProcessName => Ok(Self {
                value: raw.to_owned(),
                rule: Rule::Process,
            }),
        }
    }
}

/// Longest domain name DNS allows; longer text runs are never domain names.
pub(crate) const MAX_DOMAIN_LEN: usize = 253;

pub(crate) fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn domain(raw: &str) -> Result<String, &'static str> {
    let name = raw.strip_suffix('.').unwrap_or(raw).to_lowercase();
    if name.len() > MAX_DOMAIN_LEN {
        return Err("longer than 253 characters");
    }
    if !name.chars().all(is_domain_char) {
        return Err("not a domain name");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels
        .iter()
        .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return Err("empty or malformed label");
    }
    // A bare top-level name would match every name under it.
    if labels.len() < 2 {
        return Err("needs at least two labels");
    }
    Ok(name)
}

fn url(raw: &str) -> Result<Atom, &'static str> {
    if raw.chars().any(char::is_whitespace) {
        return Err("whitespace in URL");
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => {
            let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !valid {
                return Err("malformed scheme");
            }
            (Some(scheme), rest)
        }
        None => (None, raw),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(host_end);
    if host.is_empty() {
        return Err("no host");
    }
    let path = if path == "/" { "" } else { path };
    let mut value = String::with_capacity(raw.len());
    if let Some(scheme) = scheme {
        value.push_str(&scheme.to_ascii_lowercase());
        value.push_str("://");
    }
    value.push_str(&host.to_ascii_lowercase());
    let path_at = value.len();
    value.push_str(path);
    Ok(Atom {
        value,
        rule: Rule::Url { path_at },
    })
}

/// Networks shorter than this would match large parts of the internet.
const MIN_PREFIX: u8 = 8;

fn ipv4_network(raw: &str) -> Result<Atom, &'static str> {
    let (addr, prefix) = match raw.split_once('/') {
        Some((addr, prefix)) => {
            let prefix: u8 = prefix.parse().map_err(|_| "malformed prefix length")?;
            if prefix > 32 {
                return Err("prefix length above 32");
            }
            (addr, prefix)
        }
        None => (raw, 32),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| "not an IPv4 address")?;
    if prefix < MIN_PREFIX {
        return Err("network broader than /8");
    }
    let network = u32::from(addr) & mask(prefix);
    let value = if prefix == 32 {
        Ipv4Addr::from(network).to_string()
    } else {
        format!("{}/{prefix}", Ipv4Addr::from(network))
    };
    Ok(Atom {
        value,
        rule: Rule::Ipv4 { network, prefix },
    })
}

pub(crate) fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn email(raw: &str) -> Result<String, &'static str> {
    let lower = raw.to_lowercase();
    match lower.split_once('@') {
        Some((local, host)) if !local.is_empty() && !host.is_empty() && !host.contains('@') => {
            if lower.chars().any(char::is_whitespace) {
                return Err("whitespace in address");
            }
            Ok(lower)
        }
        _ => Err("not an email address"),
    }
}

fn hash(algo: HashAlgo, raw: &str) -> Result<String, &'static str> {
    if raw.len() != algo.hex_len() || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("not a hexadecimal digest of the algorithm's length");
    }
    Ok(raw.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(observable: Observable, raw: &str) -> Result<String, &'static str> {
        Atom::new(observable, raw).map(|a| a.value)
    }

    #[test]
    fn values_are_canonicalised() {
        assert_eq!(
            value(Observable::DomainName, "Evil.Example."),
            Ok("evil.example".into())
        );
        assert_eq!(
            value(Observable::Url, "HXXP://Evil.Example/Path?Q=1"),
            Ok("hxxp://evil.example/Path?Q=1".into())
        );
        assert_eq!(
            value(Observable::Url, "https://evil.example/"),
            Ok("https://evil.example".into())
        );
        assert_eq!(
            value(Observable::Ipv4Addr, "198.51.100.7/24"),
            Ok("198.51.100.0/24".into())
        );
        assert_eq!(
            value(Observable::Ipv4Addr, "192.0.2.1/32"),
            Ok("192.0.2.1".into())
        );
        assert_eq!(
            value(Observable::EmailAddr, "Ops@Evil.Example"),
            Ok("ops@evil.example".into())
        );
        assert_eq!(
            value(Observable::FileHash(HashAlgo::Md5), &"AB".repeat(16)),
            Ok("ab".repeat(16))
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for (observable, raw) in [
            (Observable::DomainName, "example"),
            (Observable::DomainName, "a..example"),
            (Observable::DomainName, "evil example.test"),
            (Observable::Url, "http://"),
            (Observable::Ipv4Addr, "192.0.2.256"),
            (Observable::Ipv4Addr, "0.0.0.0/0"),
            (Observable::Ipv4Addr, "192.0.2.0/33"),
            (Observable::EmailAddr, "no-at.example"),
            (Observable::FileHash(HashAlgo::Sha1), "abc"),
            (Observable::ProcessName, "  "),
        ] {
            assert!(value(observable, raw).is_err(), "{observable} {raw}");
        }
    }

    #[test]
    fn hash_names_are_lenient() {
        assert_eq!(HashAlgo::from_stix_name("sha-256"), Some(HashAlgo::Sha256));
        assert_eq!(HashAlgo::from_stix_name("SHA1"), Some(HashAlgo::Sha1));
        assert_eq!(HashAlgo::from_stix_name("md5"), Some(HashAlgo::Md5));
        assert_eq!(HashAlgo::from_stix_name("SHA3-256"), None);
    }
}
