use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::matches::Matches;
use crate::observable::{Atom, HashAlgo, MAX_DOMAIN_LEN, Rule, is_domain_char, mask};
use crate::pattern::Pattern;
use crate::text;

/// Most related objects kept per indicator: enough to name it, bounded for a bundle that
/// relates one indicator to thousands.
pub const MAX_RELATED: usize = 8;

/// One loaded STIX indicator whose pattern the scanner can evaluate.
#[derive(Debug, PartialEq, Eq)]
pub struct Indicator {
    id: String,
    name: Option<String>,
    indicates: Vec<Related>,
    display_name: String,
    source: String,
    pattern: Pattern,
}

/// Something an indicator indicates: the target of a STIX `relationship` of type
/// `indicates` whose source is the indicator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Related {
    kind: RelatedKind,
    name: String,
}

/// The kinds of STIX object an indicator's related names are taken from. In this order
/// (the most specific first: what was found, then who uses it) they are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelatedKind {
    Malware,
    Tool,
    Campaign,
    IntrusionSet,
    ThreatActor,
}

impl RelatedKind {
    /// From a STIX object type, for the kinds that are kept.
    pub(crate) fn from_stix_type(kind: &str) -> Option<Self> {
        Some(match kind {
            "malware" => Self::Malware,
            "tool" => Self::Tool,
            "campaign" => Self::Campaign,
            "intrusion-set" => Self::IntrusionSet,
            "threat-actor" => Self::ThreatActor,
            _ => return None,
        })
    }

    /// The STIX object type: `malware`, `tool`, `campaign`, `intrusion-set` or
    /// `threat-actor`.
    pub fn stix_type(self) -> &'static str {
        match self {
            Self::Malware => "malware",
            Self::Tool => "tool",
            Self::Campaign => "campaign",
            Self::IntrusionSet => "intrusion-set",
            Self::ThreatActor => "threat-actor",
        }
    }
}

impl Related {
    pub(crate) fn new(kind: RelatedKind, name: String) -> Self {
        Self { kind, name }
    }

    pub fn kind(&self) -> RelatedKind {
        self.kind
    }

    /// The object's `name`, made plain and at most [`MAX_LABEL_CHARS`](crate::MAX_LABEL_CHARS) characters.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Indicator {
    /// `name` must already be clean ([`clean_label`](crate::label::clean_label)); `indicates`
    /// sorted, without duplicates and at most [`MAX_RELATED`] long.
    pub(crate) fn new(
        id: String,
        name: Option<String>,
        indicates: Vec<Related>,
        source: String,
        pattern: Pattern,
    ) -> Self {
        let display_name = match &name {
            Some(name) => name.clone(),
            None if indicates.is_empty() => id.clone(),
            None => {
                let mut names: Vec<&str> = Vec::new();
                for related in &indicates {
                    if !names.contains(&related.name()) {
                        names.push(related.name());
                    }
                }
                names.join(", ")
            }
        };
        Self {
            id,
            name,
            indicates,
            display_name,
            source,
            pattern,
        }
    }

    /// The STIX id, `indicator--<uuid>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The indicator's own `name`, made plain and at most [`MAX_LABEL_CHARS`](crate::MAX_LABEL_CHARS) characters.
    /// Published bundles often leave it out: see [`Indicator::display_name`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The malware, tools, campaigns, intrusion sets and threat actors this indicator
    /// `indicates`, through relationships in any bundle of the same load. Revoked objects
    /// and relationships, and relationships to objects not loaded, are left out. Sorted by
    /// kind (in [`RelatedKind`] order), then name; at most [`MAX_RELATED`].
    pub fn indicates(&self) -> &[Related] {
        &self.indicates
    }

    /// What to call the indicator when it matches: its own name; or else the names of what
    /// it [indicates](Indicator::indicates), in that order, each once, joined by `", "`;
    /// or else its id.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The STIX pattern as written in the bundle.
    pub fn pattern(&self) -> &str {
        &self.source
    }

    pub(crate) fn atom(&self, index: u32) -> Option<&Atom> {
        self.pattern.atoms.get(index as usize)
    }

    pub(crate) fn is_satisfied_by(&self, seen: &BTreeSet<u32>) -> bool {
        self.pattern.expr.eval(&|i| seen.contains(&i))
    }
}

/// (indicator, atom) by position in the set.
type AtomRef = (u32, u32);
pub(crate) type Hits = BTreeSet<AtomRef>;

/// Loaded indicators and the lookup tables built from them. Immutable once built, so one
/// set can serve many scans on many threads.
pub struct IndicatorSet {
    indicators: Vec<Arc<Indicator>>,
    index: Index,
}

#[derive(Default)]
struct Index {
    domains: HashMap<String, Vec<AtomRef>>,
    longest_domain: usize,
    emails: HashMap<String, Vec<AtomRef>>,
    /// Lower-case hex digest; its length tells the algorithm.
    hashes: HashMap<String, Vec<AtomRef>>,
    hash_algos: BTreeSet<HashAlgo>,
    /// Keyed by (prefix length, network); single addresses are /32.
    ipv4: HashMap<(u8, u32), Vec<AtomRef>>,
    ipv4_prefixes: BTreeSet<u8>,
    urls: Substrings,
    processes: Substrings,
}

/// Values found by substring search and then checked at their edges.
#[derive(Default)]
struct Substrings {
    automaton: Option<AhoCorasick>,
    entries: Vec<Substring>,
    by_value: HashMap<String, usize>,
}

struct Substring {
    value: String,
    /// Bytes from here on must match exactly; before it, ASCII case is ignored.
    exact_from: usize,
    atoms: Vec<AtomRef>,
}

impl Substrings {
    fn add(&mut self, value: &str, exact_from: usize, atom: AtomRef) {
        let next = self.entries.len();
        let i = *self.by_value.entry(value.to_owned()).or_insert(next);
        if i == next {
            self.entries.push(Substring {
                value: value.to_owned(),
                exact_from,
                atoms: Vec::new(),
            });
        }
        if let Some(entry) = self.entries.get_mut(i) {
            entry.atoms.push(atom);
        }
    }

    fn build(&mut self, ignore_ascii_case: bool) -> Result<(), aho_corasick::BuildError> {
        self.by_value = HashMap::new();
        if !self.entries.is_empty() {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(ignore_ascii_case)
                .build(self.entries.iter().map(|e| &e.value))?;
            self.automaton = Some(automaton);
        }
        Ok(())
    }

    /// Every occurrence whose surroundings `edges_ok(start, end, entry)` accepts.
    fn find(&self, text: &str, hits: &mut Hits, edges_ok: impl Fn(usize, usize, &Substring) -> bool) {
        let Some(automaton) = &self.automaton else { return };
        for m in automaton.find_overlapping_iter(text) {
            let Some(entry) = self.entries.get(m.pattern().as_usize()) else {
                continue;
            };
            let exact = text.as_bytes().get(m.start() + entry.exact_from..m.end())
                == entry.value.as_bytes().get(entry.exact_from..);
            if exact && edges_ok(m.start(), m.end(), entry) {
                hits.extend(entry.atoms.iter().copied());
            }
        }
    }
}

impl IndicatorSet {
    pub(crate) fn build(indicators: Vec<Indicator>) -> Result<Self, aho_corasick::BuildError> {
        let mut index = Index::default();
        for (i, indicator) in indicators.iter().enumerate() {
            for (a, atom) in indicator.pattern.atoms.iter().enumerate() {
                let r = (i as u32, a as u32);
                let value = atom.value.clone();
                match atom.rule {
                    Rule::Domain => {
                        index.longest_domain = index.longest_domain.max(value.len());
                        index.domains.entry(value).or_default().push(r);
                    }
                    Rule::Email => index.emails.entry(value).or_default().push(r),
                    Rule::Hash(algo) => {
                        index.hash_algos.insert(algo);
                        index.hashes.entry(value).or_default().push(r);
                    }
                    Rule::Ipv4 { network, prefix } => {
                        index.ipv4_prefixes.insert(prefix);
                        index.ipv4.entry((prefix, network)).or_default().push(r);
                    }
                    Rule::Url { path_at } => index.urls.add(&value, path_at, r),
                    Rule::Process => index.processes.add(&value, 0, r),
                }
            }
        }
        index.urls.build(true)?;
        index.processes.build(false)?;
        Ok(Self {
            indicators: indicators.into_iter().map(Arc::new).collect(),
            index,
        })
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// The loaded indicators, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().map(|i| &**i)
    }

    /// Looks for the indicators in a piece of free text (a report's answers, a log).
    /// Defanged notation such as `evil[.]example` or `hxxp://` is read as meant.
    pub fn scan_text(&self, text: &str) -> Matches {
        let mut hits = Hits::new();
        self.collect_text(text, &mut hits);
        self.matches(hits)
    }

    pub(crate) fn matches(&self, hits: Hits) -> Matches {
        Matches::from_hits(
            hits.into_iter()
                .filter_map(|(i, a)| self.indicators.get(i as usize).map(|ind| (Arc::clone(ind), a))),
        )
    }

    pub(crate) fn hash_algos(&self) -> impl Iterator<Item = HashAlgo> {
        self.index.hash_algos.iter().copied()
    }

    pub(crate) fn collect_digest(&self, algo: HashAlgo, hex: &str, hits: &mut Hits) {
        let Some(refs) = self.index.hashes.get(hex) else {
            return;
        };
        let same_algo = |(i, a): &&AtomRef| {
            self.indicators
                .get(*i as usize)
                .and_then(|ind| ind.atom(*a))
                .is_some_and(|atom| atom.rule == Rule::Hash(algo))
        };
        hits.extend(refs.iter().filter(same_algo).copied());
    }

    pub(crate) fn collect_text(&self, text: &str, hits: &mut Hits) {
        let text = text::refang(text);
        let text = text.as_ref();
        let index = &self.index;
        if !index.domains.is_empty() {
            for token in text.split(|c| !is_domain_char(c)) {
                self.collect_domain(token, hits);
            }
        }
        if !index.ipv4.is_empty() {
            for token in text::runs(text, |b| b.is_ascii_digit() || b == b'.') {
                if let Some(addr) = text::ipv4(text, token) {
                    self.collect_ipv4(addr, hits);
                }
            }
        }
        if !index.emails.is_empty() {
            for address in text::emails(text) {
                if let Some(refs) = index.emails.get(&address) {
                    hits.extend(refs.iter().copied());
                }
            }
        }
        if !index.hashes.is_empty() {
            for token in text::runs(text, |b| b.is_ascii_alphanumeric()) {
                if let Some(hex) = text::hex_digest(text, token)
                    && let Some(refs) = index.hashes.get(&hex)
                {
                    hits.extend(refs.iter().copied());
                }
            }
        }
        index.urls.find(text, hits, |start, end, entry| {
            text::url_starts_at(text, start)
                && (entry.exact_from < entry.value.len() || text::host_ends_at(text, end))
        });
        index
            .processes
            .find(text, hits, |start, end, _| text::is_token(text, start, end));
    }

    /// A domain token matches an indicator for itself or for any parent domain.
    fn collect_domain(&self, token: &str, hits: &mut Hits) {
        let token = token.trim_matches(['.', '-']);
        if !token.contains('.') {
            return;
        }
        let lower = token.to_lowercase();
        let mut rest = lower.as_str();
        loop {
            if rest.len() <= self.index.longest_domain.min(MAX_DOMAIN_LEN)
                && let Some(refs) = self.index.domains.get(rest)
            {
                hits.extend(refs.iter().copied());
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return,
            }
        }
    }

    fn collect_ipv4(&self, addr: Ipv4Addr, hits: &mut Hits) {
        let addr = u32::from(addr);
        for &prefix in &self.index.ipv4_prefixes {
            if let Some(refs) = self.index.ipv4.get(&(prefix, addr & mask(prefix))) {
                hits.extend(refs.iter().copied());
            }
        }
    }
}

/// No indicators: every scan finds nothing. For a deployment without an indicator folder.
impl Default for IndicatorSet {
    fn default() -> Self {
        Self {
            indicators: Vec::new(),
            index: Index::default(),
        }
    }
}

impl fmt::Debug for IndicatorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndicatorSet")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
