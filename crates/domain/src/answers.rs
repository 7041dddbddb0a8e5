use serde::{Deserialize, Serialize};

use crate::Questionnaire;
use crate::names::named_enum;
use crate::questionnaire::MIN_WHAT_HAPPENED_CHARS;

named_enum! {
    /// Who was targeted. Fixed by the domain because triage rules score on it.
    pub enum TargetGroup {
        Journalist = "journalist",
        HumanRightsDefender = "human_rights_defender",
        Lawyer = "lawyer",
        Activist = "activist",
        PoliticalOpposition = "political_opposition",
        Other = "other",
    }
}

named_enum! {
    /// Whether the surveillance is still going on.
    pub enum Ongoing {
        Yes = "yes",
        No = "no",
        Unknown = "unknown",
    }
}

/// Answers as typed by the reporter, before validation. Both doors (HTML form and JSON
/// API) produce this; unknown JSON keys are rejected.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnswers {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub suspected_customer: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub targeted: Vec<String>,
    #[serde(default)]
    pub what_happened: Option<String>,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub ongoing: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
}

/// A validated report. Constructed only by [`Answers::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    product: String,
    suspected_customer: Option<String>,
    country: Option<String>,
    targeted: Vec<TargetGroup>,
    what_happened: String,
    when: Option<String>,
    ongoing: Ongoing,
    contact: Option<String>,
}

/// One problem with one field. `code` selects the message shown to the reporter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    /// For `too_long` and `too_short`: the bound that was crossed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Every problem found in a submission, in form order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{} field(s) are not valid", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

impl Answers {
    /// Validates raw answers against the questionnaire, reporting every problem at once.
    pub fn parse(raw: &RawAnswers, q: &Questionnaire) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let limits = q.limits();

        let product = match raw.product.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                errors.push(err("product", "required"));
                String::new()
            }
            Some(p) if q.products().iter().any(|c| c.id == p) => p.to_owned(),
            Some(_) => {
                errors.push(err("product", "invalid_choice"));
                String::new()
            }
        };

        let suspected_customer = optional_text(
            &mut errors,
            "suspected_customer",
            raw.suspected_customer.as_deref(),
            limits.short_text_chars,
            false,
        );
        let country = optional_text(
            &mut errors,
            "country",
            raw.country.as_deref(),
            limits.short_text_chars,
            false,
        );
        let when = optional_text(
            &mut errors,
            "when",
            raw.when.as_deref(),
            limits.short_text_chars,
            false,
        );
        let contact = optional_text(
            &mut errors,
            "contact",
            raw.contact.as_deref(),
            limits.contact_chars,
            true,
        );

        let mut targeted = Vec::new();
        for t in &raw.targeted {
            match TargetGroup::parse(t.trim()) {
                Some(g) if !targeted.contains(&g) => targeted.push(g),
                Some(_) => {}
                None => {
                    errors.push(err("targeted", "invalid_choice"));
                    break;
                }
            }
        }
        if raw.targeted.is_empty() {
            errors.push(err("targeted", "required"));
        }
        targeted.sort();

        let what_happened = match optional_text(
            &mut errors,
            "what_happened",
            raw.what_happened.as_deref(),
            limits.what_happened_chars,
            true,
        ) {
            None if errors.iter().all(|e| e.field != "what_happened") => {
                errors.push(err("what_happened", "required"));
                String::new()
            }
            None => String::new(),
            Some(t) if t.chars().count() < MIN_WHAT_HAPPENED_CHARS => {
                errors.push(FieldError {
                    field: "what_happened",
                    code: "too_short",
                    limit: Some(MIN_WHAT_HAPPENED_CHARS),
                });
                String::new()
            }
            Some(t) => t,
        };

        let ongoing = match raw.ongoing.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                errors.push(err("ongoing", "required"));
                Ongoing::Unknown
            }
            Some(s) => Ongoing::parse(s).unwrap_or_else(|| {
                errors.push(err("ongoing", "invalid_choice"));
                Ongoing::Unknown
            }),
        };

        if !errors.is_empty() {
            let order: Vec<&str> = q.fields().iter().map(|f| f.name).collect();
            errors.sort_by_key(|e| order.iter().position(|n| *n == e.field));
            return Err(ValidationErrors(errors));
        }
        Ok(Self {
            product,
            suspected_customer,
            country,
            targeted,
            what_happened,
            when,
            ongoing,
            contact,
        })
    }

    pub fn product(&self) -> &str {
        &self.product
    }
    pub fn suspected_customer(&self) -> Option<&str> {
        self.suspected_customer.as_deref()
    }
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }
    pub fn targeted(&self) -> &[TargetGroup] {
        &self.targeted
    }
    pub fn what_happened(&self) -> &str {
        &self.what_happened
    }
    pub fn when(&self) -> Option<&str> {
        self.when.as_deref()
    }
    pub fn ongoing(&self) -> Ongoing {
        self.ongoing
    }
    pub fn contact(&self) -> Option<&str> {
        self.contact.as_deref()
    }
}

fn err(field: &'static str, code: &'static str) -> FieldError {
    FieldError {
        field,
        code,
        limit: None,
    }
}

/// Trims, normalises line endings and checks length and characters. Empty means absent.
fn optional_text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
    multiline: bool,
) -> Option<String> {
    let text = value?.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() > max_chars {
        errors.push(FieldError {
            field,
            code: "too_long",
            limit: Some(max_chars),
        });
        return None;
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if !text.chars().all(allowed) {
        errors.push(err(field, "invalid_characters"));
        return None;
    }
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Questionnaire {
        Questionnaire::from_toml("version = 1\n[[products]]\nid = \"implant\"\nlabel = { en = \"Implant\" }")
            .unwrap()
    }

    fn good() -> RawAnswers {
        RawAnswers {
            product: Some("implant".into()),
            targeted: vec!["journalist".into(), "lawyer".into(), "journalist".into()],
            what_happened: Some("  My phone was infected in March.\r\nDetails follow.  ".into()),
            ongoing: Some("yes".into()),
            country: Some("   ".into()),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_and_normalises_a_good_report() {
        let a = Answers::parse(&good(), &q()).unwrap();
        assert_eq!(
            a.what_happened(),
            "My phone was infected in March.\nDetails follow."
        );
        assert_eq!(a.targeted(), [TargetGroup::Journalist, TargetGroup::Lawyer]);
        assert_eq!(a.country(), None);
    }

    #[test]
    fn reports_every_problem_in_form_order() {
        let raw = RawAnswers {
            product: Some("unknown-product".into()),
            what_happened: Some("x".repeat(20_001)),
            ongoing: Some("maybe".into()),
            suspected_customer: Some("agency\u{0007}".into()),
            ..Default::default()
        };
        let e = Answers::parse(&raw, &q()).unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            got,
            [
                ("product", "invalid_choice"),
                ("suspected_customer", "invalid_characters"),
                ("targeted", "required"),
                ("what_happened", "too_long"),
                ("ongoing", "invalid_choice"),
            ]
        );
    }

    #[test]
    fn missing_and_too_short_text() {
        let mut raw = good();
        raw.what_happened = None;
        let e = Answers::parse(&raw, &q()).unwrap_err();
        assert_eq!(e.for_field("what_happened").map(|e| e.code), Some("required"));
        raw.what_happened = Some("short".into());
        let e = Answers::parse(&raw, &q()).unwrap_err();
        assert_eq!(e.for_field("what_happened").map(|e| e.code), Some("too_short"));
    }
}
