//! Step 5 of triage: related cases, found through keyed fingerprints (ADR 0011) and
//! kept selective and bounded (ADR 0016).
//!
//! A case links only to cases that share a selective feature (an indicator or the
//! suspected customer). Those are ranked — more selective features shared first, then
//! more broad ones, then the rarest shared feature — and only the first
//! `related_listed` are linked and listed; the rest are counted. Broad features
//! (product, country, target group, alone and combined) are reported as counts only.
//! Every read is bounded, so triage costs the same however many cases share a feature.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use redress_domain::{COUNT_CAP, CaseId, Overlap, Related, RelatedCase};

use crate::fingerprints::Feature;
use crate::{JobError, Worker};

/// Candidates read per selective feature before ranking. A feature shared by more
/// cases than this is a weak signal anyway: the cases read are a sample of its class
/// (in random-id order), and the class is counted.
const CANDIDATES_PER_FEATURE: u64 = 100;

#[derive(Default)]
struct Candidate {
    selective: usize,
    broad: usize,
    /// Size of the smallest class among the selective features it shares.
    rarest: u64,
    shared: Vec<String>,
}

/// The links to store (related case, kinds shared) and what the summary says.
pub(crate) async fn find(
    worker: &Worker,
    case: CaseId,
    features: &[Feature],
) -> Result<(Vec<(CaseId, Vec<String>)>, Related), JobError> {
    let store = &worker.store;
    let (selective, broad): (Vec<&Feature>, Vec<&Feature>) = features.iter().partition(|f| f.is_selective());

    let mut candidates: BTreeMap<CaseId, Candidate> = BTreeMap::new();
    let mut classes = Vec::new();
    for feature in &selective {
        let class = store.count_cases_with_any(case, &[feature.stored()]).await?;
        classes.push(class);
        for other in store
            .cases_with_fingerprint(case, &feature.stored(), CANDIDATES_PER_FEATURE)
            .await?
        {
            let c = candidates.entry(other).or_insert_with(|| Candidate {
                rarest: u64::MAX,
                ..Candidate::default()
            });
            c.selective += 1;
            c.rarest = c.rarest.min(class);
            c.shared.push(feature.kind.clone());
        }
    }
    let single_broad: Vec<(String, String)> = broad
        .iter()
        .filter(|f| f.kinds().len() == 1)
        .map(|f| f.stored())
        .collect();
    let ids: Vec<CaseId> = candidates.keys().copied().collect();
    for (other, kind) in store.kinds_shared_by(&ids, &single_broad).await? {
        if let Some(c) = candidates.get_mut(&other) {
            c.broad += 1;
            c.shared.push(kind);
        }
    }

    let mut ranked: Vec<(CaseId, Candidate)> = candidates.into_iter().collect();
    ranked.sort_by_key(|(id, c)| (Reverse(c.selective), Reverse(c.broad), c.rarest, *id));
    ranked.truncate(worker.settings.related_listed);

    // With one selective feature (the common case: the customer) its class is the total.
    let linked_total = match classes.as_slice() {
        [] => 0,
        [one] => *one,
        _ => {
            let all: Vec<(String, String)> = selective.iter().map(|f| f.stored()).collect();
            store.count_cases_with_any(case, &all).await?
        }
    };
    let mut related = Related {
        more_linked: linked_total.saturating_sub(ranked.len() as u64),
        ..Related::default()
    };
    let mut links = Vec::new();
    for (other, mut c) in ranked {
        c.shared.sort();
        c.shared.dedup();
        if let Some(stored) = store.case_by_id(other).await? {
            related.linked.push(RelatedCase {
                case_ref: stored.case_ref,
                shared: c.shared.clone(),
            });
            links.push((other, c.shared));
        }
    }

    for feature in broad {
        let other_cases = store.count_cases_with_any(case, &[feature.stored()]).await?;
        if other_cases > 0 {
            related.overlaps.push(Overlap {
                shared: feature.kinds(),
                values: feature.values.clone(),
                other_cases,
            });
        }
    }
    drop_implied(&mut related.overlaps);
    // Most specific first: more kinds in common, then fewer cases sharing them.
    related
        .overlaps
        .sort_by_key(|o| (Reverse(o.shared.len()), o.other_cases, o.values.clone()));
    debug_assert!(related.overlaps.iter().all(|o| o.other_cases <= COUNT_CAP));
    Ok((links, related))
}

/// Drops an overlap that a more specific one with the same count already says: when
/// every case naming the product also names the country, "2 name this product" adds
/// nothing to "2 name this product and country".
fn drop_implied(overlaps: &mut Vec<Overlap>) {
    let pairs = |o: &Overlap| -> Vec<(String, String)> {
        o.shared.iter().cloned().zip(o.values.iter().cloned()).collect()
    };
    let implied: Vec<bool> = overlaps
        .iter()
        .map(|o| {
            let mine = pairs(o);
            overlaps.iter().any(|more| {
                more.other_cases == o.other_cases
                    && more.shared.len() > o.shared.len()
                    && mine.iter().all(|p| pairs(more).contains(p))
            })
        })
        .collect();
    let mut keep = implied.iter().map(|i| !i);
    overlaps.retain(|_| keep.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(kinds: &[(&str, &str)], other_cases: u64) -> Overlap {
        Overlap {
            shared: kinds.iter().map(|(k, _)| (*k).to_owned()).collect(),
            values: kinds.iter().map(|(_, v)| (*v).to_owned()).collect(),
            other_cases,
        }
    }

    #[test]
    fn an_overlap_a_more_specific_one_already_says_is_dropped() {
        let mut o = vec![
            overlap(&[("product", "implant")], 40),
            overlap(&[("country", "france")], 3),
            overlap(&[("product", "implant"), ("country", "france")], 3),
            overlap(&[("target_group", "lawyer")], 3),
        ];
        drop_implied(&mut o);
        assert_eq!(
            o,
            [
                overlap(&[("product", "implant")], 40),
                overlap(&[("product", "implant"), ("country", "france")], 3),
                // Same count, but the combination does not contain it.
                overlap(&[("target_group", "lawyer")], 3),
            ]
        );
    }
}
