//! Triage rules (`config/triage.toml`): how a case is scored P1–P4, with every reason
//! that moved the score, how it is routed, and its deadlines.

use std::collections::BTreeMap;

use redress_domain::{Answers, Ongoing, Priority, Reason, Score, TargetGroup};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub version: u32,
    pub score: ScoreRules,
    pub priority: PriorityThresholds,
    pub routing: RoutingRules,
    pub deadlines: Deadlines,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRules {
    /// Points per target group; every group the reporter ticked adds its points.
    pub targeted: BTreeMap<String, i32>,
    /// Points for "is it still going on": yes / no / unknown.
    pub ongoing: BTreeMap<String, i32>,
    pub evidence_present: i32,
    pub indicator_matched: i32,
    pub per_extra_indicator: i32,
    pub max_indicator_points: i32,
    #[serde(default)]
    pub lists: Vec<ListRule>,
}

/// Points when an answer is on a list (case-insensitive, whole answer).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRule {
    pub name: String,
    pub field: ListField,
    pub values: Vec<String>,
    pub points: i32,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ListField {
    Product,
    Country,
    SuspectedCustomer,
}

/// The smallest score of each priority; anything lower is P4.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityThresholds {
    pub p1: i32,
    pub p2: i32,
    pub p3: i32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    /// Where a case goes when no rule matches or no matching team has room.
    pub fallback_team: String,
    /// Investigators given each case.
    #[serde(default = "one")]
    pub assign_per_case: u32,
    #[serde(default)]
    pub rules: Vec<RouteRule>,
}

fn one() -> u32 {
    1
}

/// A team for cases about these products and/or from these countries. An empty list
/// matches anything; both lists must match.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    pub team: String,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub ack_days: i64,
    pub feedback_days: i64,
    pub due_soon_days: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("triage rules are not valid: {0}")]
    Parse(String),
    #[error("triage rules: {0}")]
    Invalid(String),
}

/// What scoring needs to know beyond the answers.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub evidence_files: usize,
    /// Names (or ids) of the distinct indicators that matched.
    pub indicators: Vec<String>,
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Rules {
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: Self = toml::from_str(text).map_err(|e| RulesError::Parse(e.to_string()))?;
        rules.check()?;
        Ok(rules)
    }

    fn check(&self) -> Result<(), RulesError> {
        let p = &self.priority;
        if !(p.p1 > p.p2 && p.p2 > p.p3) {
            return Err(RulesError::Invalid(
                "priority thresholds must fall: p1 > p2 > p3".into(),
            ));
        }
        for key in self.score.targeted.keys() {
            if TargetGroup::parse(key).is_none() {
                return Err(RulesError::Invalid(format!(
                    "score.targeted: unknown target group {key:?}"
                )));
            }
        }
        for key in self.score.ongoing.keys() {
            if Ongoing::parse(key).is_none() {
                return Err(RulesError::Invalid(format!(
                    "score.ongoing: unknown answer {key:?}"
                )));
            }
        }
        if self.routing.fallback_team.trim().is_empty() || self.routing.assign_per_case == 0 {
            return Err(RulesError::Invalid(
                "routing needs a fallback_team and assign_per_case ≥ 1".into(),
            ));
        }
        let d = &self.deadlines;
        if d.ack_days <= 0 || d.feedback_days <= 0 || d.due_soon_days < 0 {
            return Err(RulesError::Invalid("deadlines must be positive".into()));
        }
        Ok(())
    }

    /// Scores a case, keeping every reason that added points.
    pub fn score(&self, answers: &Answers, findings: &Findings) -> Score {
        let s = &self.score;
        let mut reasons = Vec::new();
        for group in answers.targeted() {
            if let Some(&points) = s.targeted.get(group.as_str())
                && points != 0
            {
                reasons.push(Reason {
                    rule: "targeted".into(),
                    points,
                    detail: group.as_str().into(),
                });
            }
        }
        let ongoing = answers.ongoing().as_str();
        if let Some(&points) = s.ongoing.get(ongoing)
            && points != 0
        {
            reasons.push(Reason {
                rule: "ongoing".into(),
                points,
                detail: ongoing.into(),
            });
        }
        if findings.evidence_files > 0 && s.evidence_present != 0 {
            reasons.push(Reason {
                rule: "evidence_present".into(),
                points: s.evidence_present,
                detail: format!("{} file(s)", findings.evidence_files),
            });
        }
        if let Some(first) = findings.indicators.first() {
            let extra = i32::try_from(findings.indicators.len() - 1).unwrap_or(i32::MAX);
            let points = s
                .indicator_matched
                .saturating_add(s.per_extra_indicator.saturating_mul(extra))
                .min(s.max_indicator_points);
            let detail = if extra == 0 {
                first.clone()
            } else {
                format!("{first} and {extra} more")
            };
            reasons.push(Reason {
                rule: "indicator_matched".into(),
                points,
                detail,
            });
        }
        for list in &s.lists {
            let answer = match list.field {
                ListField::Product => Some(answers.product()),
                ListField::Country => answers.country(),
                ListField::SuspectedCustomer => answers.suspected_customer(),
            };
            if let Some(answer) = answer
                && list.values.iter().any(|v| normalise(v) == normalise(answer))
            {
                reasons.push(Reason {
                    rule: format!("list: {}", list.name),
                    points: list.points,
                    detail: answer.into(),
                });
            }
        }
        let points = reasons.iter().map(|r| r.points).sum();
        let p = &self.priority;
        let priority = if points >= p.p1 {
            Priority::P1
        } else if points >= p.p2 {
            Priority::P2
        } else if points >= p.p3 {
            Priority::P3
        } else {
            Priority::P4
        };
        Score {
            points,
            priority,
            reasons,
        }
    }

    /// Teams whose rules match the case, in rule order.
    pub fn teams_for(&self, answers: &Answers) -> Vec<String> {
        let country = answers.country().map(normalise);
        self.routing
            .rules
            .iter()
            .filter(|r| r.products.is_empty() || r.products.iter().any(|p| p == answers.product()))
            .filter(|r| {
                r.countries.is_empty()
                    || country
                        .as_ref()
                        .is_some_and(|c| r.countries.iter().any(|x| &normalise(x) == c))
            })
            .map(|r| r.team.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::{Questionnaire, RawAnswers};

    pub(crate) const RULES: &str = include_str!("../../../config/triage.toml");

    fn answers(targeted: &[&str], ongoing: &str, country: Option<&str>) -> Answers {
        let q = Questionnaire::from_toml(include_str!("../../../config/questionnaire.toml")).unwrap();
        Answers::parse(
            &RawAnswers {
                product: Some("mobile-implant".into()),
                targeted: targeted.iter().map(|s| s.to_string()).collect(),
                what_happened: Some("Something happened to my phone.".into()),
                ongoing: Some(ongoing.into()),
                country: country.map(Into::into),
                ..Default::default()
            },
            &q,
        )
        .unwrap()
    }

    #[test]
    fn shipped_rules_load() {
        let r = Rules::from_toml(RULES).unwrap();
        assert_eq!(r.deadlines.ack_days, 7);
        assert_eq!(r.deadlines.feedback_days, 90);
    }

    #[test]
    fn scores_keep_every_reason_and_map_to_priorities() {
        let r = Rules::from_toml(RULES).unwrap();
        let quiet = r.score(&answers(&["other"], "no", None), &Findings::default());
        let loud = r.score(
            &answers(&["journalist", "human_rights_defender"], "yes", None),
            &Findings {
                evidence_files: 2,
                indicators: vec!["implant C2".into(), "second".into()],
            },
        );
        assert!(loud.priority < quiet.priority, "{loud:?} vs {quiet:?}");
        assert_eq!(loud.priority, Priority::P1);
        assert_eq!(loud.points, loud.reasons.iter().map(|r| r.points).sum::<i32>());
        let rules: Vec<&str> = loud.reasons.iter().map(|r| r.rule.as_str()).collect();
        for expected in ["targeted", "ongoing", "evidence_present", "indicator_matched"] {
            assert!(rules.contains(&expected), "{rules:?}");
        }
        let ind = loud
            .reasons
            .iter()
            .find(|r| r.rule == "indicator_matched")
            .unwrap();
        assert_eq!(ind.detail, "implant C2 and 1 more");
        assert_eq!(quiet.priority, Priority::P4);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let bad = RULES.replace("p1 = ", "p1 = -1000 + 0 * ");
        assert!(Rules::from_toml(&bad).is_err());
        let unknown = RULES.replace("journalist =", "journalists =");
        assert!(
            matches!(Rules::from_toml(&unknown), Err(RulesError::Invalid(m)) if m.contains("journalists"))
        );
        let extra = format!("{RULES}\nsurprise = 1\n");
        assert!(matches!(Rules::from_toml(&extra), Err(RulesError::Parse(m)) if m.contains("surprise")));
    }

    #[test]
    fn routing_rules_match_product_and_country() {
        let r = Rules::from_toml(RULES).unwrap();
        let teams = r.teams_for(&answers(&["journalist"], "yes", Some("  FRANCE ")));
        assert!(teams.contains(&"mobile".to_owned()), "{teams:?}");
        assert!(teams.contains(&"europe".to_owned()), "{teams:?}");
        assert!(
            !r.teams_for(&answers(&["journalist"], "yes", Some("Atlantis")))
                .contains(&"europe".to_owned())
        );
    }
}
