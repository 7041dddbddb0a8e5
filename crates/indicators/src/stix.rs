//! Loading STIX 2.1 bundles: which objects become indicators, and why others do not.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::file::clean_name;
use crate::label::clean_label;
use crate::pattern::{self, PatternError};
use crate::set::{Indicator, IndicatorSet, MAX_RELATED, Related, RelatedKind};

/// Bundle files larger than this are skipped, not read.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

/// File name extensions [`IndicatorSet::load_dir`] reads, in any case: bundles are
/// published as `.json`, and as `.stix2` (Amnesty Tech's and Citizen Lab's, for example).
pub const BUNDLE_EXTENSIONS: [&str; 2] = ["json", "stix2"];

/// Why indicators could not be loaded at all. Problems with one file or one indicator are
/// not errors: they are listed in [`LoadReport::not_loaded`] and [`LoadReport::skipped`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot list indicator folder {}", dir.display())]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot build the search automaton")]
    Index(#[source] aho_corasick::BuildError),
}

/// What a load did: counts, and everything left out with the reason.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Sources that were STIX JSON (a bundle or a single indicator).
    pub bundles: usize,
    /// Indicators loaded.
    pub indicators: usize,
    /// Sources not loaded at all, in file-name order: for [`IndicatorSet::load_dir`], every
    /// entry of the folder that is not a readable bundle of at most [`MAX_BUNDLE_BYTES`]
    /// (another extension, a folder, too large, unreadable, not JSON, not STIX).
    pub not_loaded: Vec<NotLoaded>,
    /// Objects left out of the sources that were loaded.
    pub skipped: Vec<Skipped>,
}

/// A source that was not loaded, and why.
#[derive(Debug)]
pub struct NotLoaded {
    /// File name for [`IndicatorSet::load_dir`] (control characters replaced), `bundle #N`
    /// for [`IndicatorSet::from_bundles`].
    pub source: String,
    pub reason: SkipReason,
}

impl fmt::Display for NotLoaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.reason)
    }
}

/// One object of a loaded source that was left out.
#[derive(Debug)]
pub struct Skipped {
    /// As in [`NotLoaded::source`].
    pub source: String,
    /// The object id, when it could be read.
    pub id: Option<String>,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: {id}: {}", self.source, self.reason),
            None => write!(f, "{}: {}", self.source, self.reason),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SkipReason {
    #[error("not a regular file")]
    NotAFile,
    #[error("not a .json or .stix2 file")]
    OtherExtension,
    #[error("file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("cannot read file")]
    Unreadable(#[source] io::Error),
    #[error("not valid JSON")]
    InvalidJson(#[source] serde_json::Error),
    #[error("neither a STIX bundle nor an indicator")]
    NotStix,
    #[error("malformed indicator object")]
    InvalidIndicator(#[source] serde_json::Error),
    #[error("malformed {kind} object")]
    InvalidObject {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("id does not start with `indicator--`")]
    BadId,
    #[error("revoked")]
    Revoked,
    #[error("no longer valid (valid_until has passed)")]
    Expired,
    #[error("a newer version of the same indicator was loaded")]
    Superseded,
    #[error("no pattern")]
    MissingPattern,
    #[error("pattern type `{0}` is not supported")]
    UnsupportedPatternType(String),
    #[error("pattern not supported")]
    Pattern(#[source] PatternError),
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(borrow, default)]
    objects: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawIndicator {
    id: String,
    name: Option<String>,
    pattern: Option<String>,
    pattern_type: Option<String>,
    #[serde(default)]
    revoked: bool,
    valid_until: Option<String>,
    modified: Option<String>,
}

#[derive(Deserialize)]
struct RawRelationship {
    id: String,
    relationship_type: String,
    source_ref: String,
    target_ref: String,
    #[serde(default)]
    revoked: bool,
    modified: Option<String>,
}

/// A malware, tool, campaign, intrusion-set or threat-actor object.
#[derive(Deserialize)]
struct RawNamed {
    id: String,
    name: Option<String>,
    #[serde(default)]
    revoked: bool,
    modified: Option<String>,
}

struct Candidate {
    source: String,
    raw: RawIndicator,
    modified: Option<OffsetDateTime>,
}

impl IndicatorSet {
    /// Loads every bundle file ([`BUNDLE_EXTENSIONS`]) directly in `dir`, in file-name
    /// order; every other entry of the folder is listed in [`LoadReport::not_loaded`].
    /// Relationships are resolved once all files are read, so they may be in another file
    /// than their indicator. `now` decides which indicators have expired.
    pub fn load_dir(dir: &Path, now: OffsetDateTime) -> Result<(IndicatorSet, LoadReport), LoadError> {
        let read_dir = |source| LoadError::ReadDir {
            dir: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_dir)? {
            paths.push(entry.map_err(read_dir)?.path());
        }
        paths.sort();
        let mut loader = Loader::default();
        for path in paths {
            let source = path
                .file_name()
                .map_or_else(String::new, |n| clean_name(&n.to_string_lossy()));
            let bytes = if !path.is_file() {
                Err(SkipReason::NotAFile)
            } else if !is_bundle_file(&path) {
                Err(SkipReason::OtherExtension)
            } else {
                read_bounded(&path)
            };
            match bytes {
                Ok(bytes) => loader.add_source(source, &bytes),
                Err(reason) => loader.not_loaded(source, reason),
            }
        }
        loader.finish(now)
    }

    /// Loads bundles already in memory; they are named `bundle #N` in the report.
    pub fn from_bundles(
        bundles: &[&[u8]],
        now: OffsetDateTime,
    ) -> Result<(IndicatorSet, LoadReport), LoadError> {
        let mut loader = Loader::default();
        for (i, bytes) in bundles.iter().enumerate() {
            loader.add_source(format!("bundle #{i}"), bytes);
        }
        loader.finish(now)
    }
}

fn is_bundle_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| BUNDLE_EXTENSIONS.iter().any(|b| e.eq_ignore_ascii_case(b)))
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, SkipReason> {
    let too_large = SkipReason::TooLarge {
        limit: MAX_BUNDLE_BYTES,
    };
    let file = fs::File::open(path).map_err(SkipReason::Unreadable)?;
    if file.metadata().map_err(SkipReason::Unreadable)?.len() > MAX_BUNDLE_BYTES {
        return Err(too_large);
    }
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(SkipReason::Unreadable)?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(too_large);
    }
    Ok(bytes)
}

/// The newest version of each object by id, as judged by `modified`. On a tie the first
/// one loaded stays, as for indicators.
struct Newest<T> {
    by_id: HashMap<String, (Option<OffsetDateTime>, T)>,
}

impl<T> Default for Newest<T> {
    fn default() -> Self {
        Self {
            by_id: HashMap::new(),
        }
    }
}

impl<T> Newest<T> {
    fn offer(&mut self, id: String, modified: Option<&str>, value: T) {
        let modified = modified.and_then(timestamp);
        match self.by_id.entry(id) {
            Entry::Occupied(mut seen) => {
                if modified > seen.get().0 {
                    seen.insert((modified, value));
                }
            }
            Entry::Vacant(new) => {
                new.insert((modified, value));
            }
        }
    }

    fn get(&self, id: &str) -> Option<&T> {
        self.by_id.get(id).map(|(_, value)| value)
    }

    fn into_values(self) -> impl Iterator<Item = T> {
        self.by_id.into_values().map(|(_, value)| value)
    }
}

/// An `indicates` relationship: (indicator id, target id).
type Indicates = (String, String);

#[derive(Default)]
struct Loader {
    report: LoadReport,
    candidates: Vec<Candidate>,
    /// Indicator id → position in `candidates` of its newest version so far.
    newest: HashMap<String, usize>,
    superseded: Vec<bool>,
    /// Every relationship's newest version: `None` unless it is an unrevoked `indicates`
    /// from an indicator, so that a newer version can withdraw an older one.
    relationships: Newest<Option<Indicates>>,
    /// The newest version of every object a name can come from: `None` when it is revoked
    /// or has no name.
    named: Newest<Option<Related>>,
}

impl Loader {
    fn skip(&mut self, source: String, id: Option<String>, reason: SkipReason) {
        self.report.skipped.push(Skipped { source, id, reason });
    }

    fn not_loaded(&mut self, source: String, reason: SkipReason) {
        self.report.not_loaded.push(NotLoaded { source, reason });
    }

    fn add_source(&mut self, source: String, bytes: &[u8]) {
        let top: Top<'_> = match serde_json::from_slice(bytes) {
            Ok(top) => top,
            // Valid JSON of another shape (an array, a `type` that is not a string).
            Err(e) if e.is_data() => return self.not_loaded(source, SkipReason::NotStix),
            Err(e) => return self.not_loaded(source, SkipReason::InvalidJson(e)),
        };
        match top.kind.as_str() {
            "bundle" => {
                self.report.bundles += 1;
                for object in top.objects {
                    self.add_object(&source, object.get());
                }
            }
            "indicator" => {
                self.report.bundles += 1;
                match std::str::from_utf8(bytes) {
                    Ok(json) => self.add_object(&source, json),
                    Err(_) => self.not_loaded(source, SkipReason::NotStix),
                }
            }
            _ => self.not_loaded(source, SkipReason::NotStix),
        }
    }

    fn add_object(&mut self, source: &str, json: &str) {
        let head: Head = match serde_json::from_str(json) {
            Ok(head) => head,
            Err(e) => return self.skip(source.to_owned(), None, SkipReason::InvalidJson(e)),
        };
        match head.kind.as_str() {
            "indicator" => self.add_indicator(source, head.id, json),
            "relationship" => self.add_relationship(source, head.id, json),
            kind => {
                if let Some(kind) = RelatedKind::from_stix_type(kind) {
                    self.add_named(source, head.id, kind, json);
                }
            }
        }
    }

    fn add_relationship(&mut self, source: &str, id: Option<String>, json: &str) {
        let raw: RawRelationship = match serde_json::from_str(json) {
            Ok(raw) => raw,
            Err(e) => return self.skip(source.to_owned(), id, invalid("relationship", e)),
        };
        let indicates =
            raw.relationship_type == "indicates" && raw.source_ref.starts_with("indicator--") && !raw.revoked;
        let value = indicates.then_some((raw.source_ref, raw.target_ref));
        self.relationships.offer(raw.id, raw.modified.as_deref(), value);
    }

    fn add_named(&mut self, source: &str, id: Option<String>, kind: RelatedKind, json: &str) {
        let raw: RawNamed = match serde_json::from_str(json) {
            Ok(raw) => raw,
            Err(e) => return self.skip(source.to_owned(), id, invalid(kind.stix_type(), e)),
        };
        let name = raw.name.as_deref().and_then(clean_label).filter(|_| !raw.revoked);
        let value = name.map(|name| Related::new(kind, name));
        self.named.offer(raw.id, raw.modified.as_deref(), value);
    }

    fn add_indicator(&mut self, source: &str, id: Option<String>, json: &str) {
        let raw: RawIndicator = match serde_json::from_str(json) {
            Ok(raw) => raw,
            Err(e) => return self.skip(source.to_owned(), id, SkipReason::InvalidIndicator(e)),
        };
        if !raw.id.starts_with("indicator--") {
            return self.skip(source.to_owned(), Some(raw.id), SkipReason::BadId);
        }
        let modified = raw.modified.as_deref().and_then(timestamp);
        let position = self.candidates.len();
        self.superseded.push(false);
        match self.newest.get(&raw.id).copied() {
            Some(previous) => {
                let newer = self
                    .candidates
                    .get(previous)
                    .is_some_and(|p| modified > p.modified);
                let loser = if newer { previous } else { position };
                if newer {
                    self.newest.insert(raw.id.clone(), position);
                }
                if let Some(flag) = self.superseded.get_mut(loser) {
                    *flag = true;
                }
            }
            None => {
                self.newest.insert(raw.id.clone(), position);
            }
        }
        self.candidates.push(Candidate {
            source: source.to_owned(),
            raw,
            modified,
        });
    }

    /// What each indicator indicates, by indicator id, as [`Indicator::indicates`] lists it.
    fn take_related(&mut self) -> HashMap<String, Vec<Related>> {
        let named = std::mem::take(&mut self.named);
        let relationships = std::mem::take(&mut self.relationships);
        let mut related: HashMap<String, Vec<Related>> = HashMap::new();
        for (indicator, target) in relationships.into_values().flatten() {
            if let Some(Some(target)) = named.get(&target) {
                related.entry(indicator).or_default().push(target.clone());
            }
        }
        for list in related.values_mut() {
            list.sort();
            list.dedup();
            list.truncate(MAX_RELATED);
        }
        related
    }

    fn finish(mut self, now: OffsetDateTime) -> Result<(IndicatorSet, LoadReport), LoadError> {
        let mut related = self.take_related();
        let mut indicators = Vec::new();
        let candidates = std::mem::take(&mut self.candidates);
        for (candidate, superseded) in candidates.into_iter().zip(std::mem::take(&mut self.superseded)) {
            let Candidate { source, raw, .. } = candidate;
            let reason = if superseded {
                Some(SkipReason::Superseded)
            } else if raw.revoked {
                Some(SkipReason::Revoked)
            } else if raw
                .valid_until
                .as_deref()
                .and_then(timestamp)
                .is_some_and(|until| until <= now)
            {
                Some(SkipReason::Expired)
            } else {
                None
            };
            if let Some(reason) = reason {
                self.skip(source, Some(raw.id), reason);
                continue;
            }
            // STIX 2.0 indicators have no pattern_type; their patterns are STIX patterns.
            let pattern_type = raw.pattern_type.as_deref().unwrap_or("stix");
            if !pattern_type.eq_ignore_ascii_case("stix") {
                let reason = SkipReason::UnsupportedPatternType(pattern_type.to_owned());
                self.skip(source, Some(raw.id), reason);
                continue;
            }
            let Some(text) = raw.pattern else {
                self.skip(source, Some(raw.id), SkipReason::MissingPattern);
                continue;
            };
            match pattern::compile(&text) {
                Ok(pattern) => {
                    let name = raw.name.as_deref().and_then(clean_label);
                    let indicates = related.remove(&raw.id).unwrap_or_default();
                    indicators.push(Indicator::new(raw.id, name, indicates, text, pattern));
                }
                Err(e) => self.skip(source, Some(raw.id), SkipReason::Pattern(e)),
            }
        }
        self.report.indicators = indicators.len();
        let set = IndicatorSet::build(indicators).map_err(LoadError::Index)?;
        Ok((set, self.report))
    }
}

fn invalid(kind: &'static str, source: serde_json::Error) -> SkipReason {
    SkipReason::InvalidObject { kind, source }
}

fn timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
