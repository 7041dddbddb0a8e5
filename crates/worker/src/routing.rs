//! Who gets a case: the teams its rules name, then the least-loaded investigators with
//! room; failing that, the fallback team.

use std::collections::HashMap;

use redress_domain::InvestigatorId;
use redress_store::Investigator;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoutingError {
    // Team names stay out of the message (it is stored with the job): they hint at the
    // product or the country.
    #[error("no active investigator with room in the matching teams or the fallback team")]
    NoOne { teams: Vec<String>, fallback: String },
}

/// The chosen investigators and the team they were chosen from.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub team: String,
    pub investigators: Vec<Investigator>,
}

/// Picks `count` investigators for a case. Within the first team (in rule order) that has
/// anyone with room, the least loaded go first; ties go by email so the choice is
/// deterministic. `loads` counts open cases per investigator id.
pub fn route(
    teams: &[String],
    fallback: &str,
    count: u32,
    investigators: &[Investigator],
    loads: &HashMap<InvestigatorId, u32>,
) -> Result<Route, RoutingError> {
    let load = |i: &Investigator| loads.get(&i.id).copied().unwrap_or(0);
    let fallback_team = fallback.to_owned();
    for team in teams.iter().chain(std::iter::once(&fallback_team)) {
        let mut candidates: Vec<&Investigator> = investigators
            .iter()
            .filter(|i| i.active && i.teams.contains(team) && load(i) < i.capacity)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        candidates.sort_by(|a, b| load(a).cmp(&load(b)).then_with(|| a.email.cmp(&b.email)));
        let take = usize::try_from(count).unwrap_or(1);
        return Ok(Route {
            team: team.clone(),
            investigators: candidates.into_iter().take(take).cloned().collect(),
        });
    }
    Err(RoutingError::NoOne {
        teams: teams.to_vec(),
        fallback: fallback.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(email: &str, teams: &[&str], capacity: u32, active: bool) -> Investigator {
        Investigator {
            id: InvestigatorId::random(),
            email: email.into(),
            recipient: "age1".into(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            capacity,
            active,
            created_at: 0,
        }
    }

    #[test]
    fn least_loaded_in_the_first_matching_team() {
        let people = [
            inv("a@x", &["mobile"], 5, true),
            inv("b@x", &["mobile"], 5, true),
            inv("c@x", &["europe"], 5, true),
            inv("d@x", &["triage-desk"], 5, true),
        ];
        let loads = HashMap::from([(people[0].id, 3), (people[1].id, 1)]);
        let teams = vec!["mobile".to_owned(), "europe".to_owned()];
        let r = route(&teams, "triage-desk", 1, &people, &loads).unwrap();
        assert_eq!(
            (r.team.as_str(), r.investigators[0].email.as_str()),
            ("mobile", "b@x")
        );
        let two = route(&teams, "triage-desk", 2, &people, &loads).unwrap();
        assert_eq!(
            two.investigators
                .iter()
                .map(|i| i.email.as_str())
                .collect::<Vec<_>>(),
            ["b@x", "a@x"]
        );
    }

    #[test]
    fn full_inactive_or_unmatched_falls_back() {
        let people = [
            inv("a@x", &["mobile"], 1, true),
            inv("b@x", &["mobile"], 9, false),
            inv("d@x", &["triage-desk"], 1, true),
        ];
        let loads = HashMap::from([(people[0].id, 1)]);
        let r = route(&["mobile".to_owned()], "triage-desk", 1, &people, &loads).unwrap();
        assert_eq!(
            (r.team.as_str(), r.investigators[0].email.as_str()),
            ("triage-desk", "d@x")
        );
        let r = route(&[], "triage-desk", 1, &people, &HashMap::new()).unwrap();
        assert_eq!(r.team, "triage-desk");
        let full = HashMap::from([(people[0].id, 1), (people[2].id, 1)]);
        assert!(matches!(
            route(&["mobile".to_owned()], "triage-desk", 1, &people, &full),
            Err(RoutingError::NoOne { .. })
        ));
    }
}
