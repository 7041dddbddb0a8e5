use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::Observable;
use crate::set::Indicator;

/// Indicators found in one report (or one part of it), in a fixed order: by indicator id,
/// then by comparison.
///
/// An indicator whose pattern needs several observables (`AND`) counts only once all of
/// them were seen. Partial sightings are kept inside, so merging the matches of a report's
/// text and of its files completes such indicators across the parts.
#[derive(Clone, Default)]
pub struct Matches {
    sightings: BTreeMap<String, Sighting>,
}

#[derive(Clone)]
struct Sighting {
    indicator: Arc<Indicator>,
    atoms: BTreeSet<u32>,
}

impl Sighting {
    fn satisfied(&self) -> bool {
        self.indicator.is_satisfied_by(&self.atoms)
    }
}

/// One comparison of a matched indicator that was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match<'a> {
    pub indicator: &'a Indicator,
    pub observable: Observable,
    /// The indicator's value in canonical form (e.g. lower-case domain, masked network).
    pub value: &'a str,
}

impl Matches {
    pub(crate) fn from_hits(hits: impl IntoIterator<Item = (Arc<Indicator>, u32)>) -> Self {
        let mut matches = Self::default();
        for (indicator, atom) in hits {
            matches.add(indicator, std::iter::once(atom));
        }
        matches
    }

    fn add(&mut self, indicator: Arc<Indicator>, atoms: impl IntoIterator<Item = u32>) {
        self.sightings
            .entry(indicator.id().to_owned())
            .or_insert_with(|| Sighting {
                indicator,
                atoms: BTreeSet::new(),
            })
            .atoms
            .extend(atoms);
    }

    /// Adds what `other` saw. Two sightings of the same indicator id are assumed to come
    /// from the same [`IndicatorSet`](crate::IndicatorSet).
    pub fn merge(&mut self, other: Matches) {
        for (_, sighting) in other.sightings {
            self.add(sighting.indicator, sighting.atoms);
        }
    }

    /// True when no indicator matched in full.
    pub fn is_empty(&self) -> bool {
        !self.sightings.values().any(Sighting::satisfied)
    }

    /// The indicators that matched in full.
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.sightings
            .values()
            .filter(|s| s.satisfied())
            .map(|s| &*s.indicator)
    }

    pub fn indicator_ids(&self) -> impl Iterator<Item = &str> {
        self.indicators().map(Indicator::id)
    }

    /// Every seen comparison of every indicator that matched in full.
    pub fn iter(&self) -> impl Iterator<Item = Match<'_>> {
        self.sightings.values().filter(|s| s.satisfied()).flat_map(|s| {
            s.atoms.iter().filter_map(|&i| {
                let atom = s.indicator.atom(i)?;
                Some(Match {
                    indicator: &s.indicator,
                    observable: atom.observable(),
                    value: &atom.value,
                })
            })
        })
    }
}

impl<'a> IntoIterator for &'a Matches {
    type Item = Match<'a>;
    type IntoIter = Box<dyn Iterator<Item = Match<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl fmt::Debug for Matches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|m| (m.indicator.id(), m.observable, m.value)))
            .finish()
    }
}
