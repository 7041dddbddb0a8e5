use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The report form as configured by the deployment (`config/questionnaire.toml`). The
/// fields themselves are fixed by the domain (the worker triages on them); the
/// configuration chooses the product list, text bounds and the version stamped on each
/// submission.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    version: u32,
    products: Vec<Choice>,
    #[serde(default)]
    limits: TextLimits,
}

/// One selectable option, labelled per language (`en` is required).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub label: BTreeMap<String, String>,
}

/// Upper bounds on text answers, in characters.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextLimits {
    pub short_text_chars: usize,
    pub what_happened_chars: usize,
    pub contact_chars: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        Self {
            short_text_chars: 200,
            what_happened_chars: 20_000,
            contact_chars: 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuestionnaireError {
    #[error("questionnaire is not valid TOML: {0}")]
    Parse(String),
    #[error("questionnaire has no products")]
    NoProducts,
    #[error("product {0:?} has no English label (`label.en`)")]
    MissingEnglishLabel(String),
    #[error("product id {0:?} must be 1-64 characters of a-z, 0-9 and '-'")]
    BadProductId(String),
    #[error("product id {0:?} appears twice")]
    DuplicateProduct(String),
    #[error("text limits must be between 1 and 100000 characters")]
    BadLimits,
}

/// "What happened?" needs a sentence, not a word; counted after trimming.
pub(crate) const MIN_WHAT_HAPPENED_CHARS: usize = 10;

/// How a field is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Select,
    Text,
    Textarea,
    MultiChoice,
    SingleChoice,
    Files,
}

/// Describes one field for rendering (HTML form, JSON questionnaire).
#[derive(Clone, Debug, Serialize)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
    /// The fewest characters a text answer must have once trimmed, when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_chars: Option<usize>,
    /// Option ids; labels come from the questionnaire (products) or the message catalogue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

impl Questionnaire {
    /// Parses and checks a questionnaire definition.
    pub fn from_toml(text: &str) -> Result<Self, QuestionnaireError> {
        let q: Self = toml_like_parse(text)?;
        q.check()?;
        Ok(q)
    }

    fn check(&self) -> Result<(), QuestionnaireError> {
        if self.products.is_empty() {
            return Err(QuestionnaireError::NoProducts);
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.products {
            let id_ok = !p.id.is_empty()
                && p.id.len() <= 64
                && p.id
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            if !id_ok {
                return Err(QuestionnaireError::BadProductId(p.id.clone()));
            }
            if !p.label.contains_key("en") {
                return Err(QuestionnaireError::MissingEnglishLabel(p.id.clone()));
            }
            if !seen.insert(p.id.as_str()) {
                return Err(QuestionnaireError::DuplicateProduct(p.id.clone()));
            }
        }
        let l = &self.limits;
        let in_range = |n: usize| (1..=100_000).contains(&n);
        if !(in_range(l.short_text_chars) && in_range(l.what_happened_chars) && in_range(l.contact_chars)) {
            return Err(QuestionnaireError::BadLimits);
        }
        Ok(())
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn products(&self) -> &[Choice] {
        &self.products
    }

    pub fn limits(&self) -> &TextLimits {
        &self.limits
    }

    pub fn product_label(&self, id: &str, lang: &str) -> Option<&str> {
        let p = self.products.iter().find(|p| p.id == id)?;
        p.label
            .get(lang)
            .or_else(|| p.label.get("en"))
            .map(String::as_str)
    }

    /// The fields in the order the form shows them.
    pub fn fields(&self) -> Vec<FieldSpec> {
        let l = &self.limits;
        let text = |name, max, required| FieldSpec {
            name,
            kind: FieldKind::Text,
            required,
            max_chars: Some(max),
            min_chars: None,
            choices: vec![],
        };
        vec![
            FieldSpec {
                name: "product",
                kind: FieldKind::Select,
                required: true,
                max_chars: None,
                min_chars: None,
                choices: self.products.iter().map(|p| p.id.clone()).collect(),
            },
            text("suspected_customer", l.short_text_chars, false),
            text("country", l.short_text_chars, false),
            FieldSpec {
                name: "targeted",
                kind: FieldKind::MultiChoice,
                required: true,
                max_chars: None,
                min_chars: None,
                choices: crate::TargetGroup::ALL
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect(),
            },
            FieldSpec {
                name: "what_happened",
                kind: FieldKind::Textarea,
                required: true,
                max_chars: Some(l.what_happened_chars),
                min_chars: Some(MIN_WHAT_HAPPENED_CHARS),
                choices: vec![],
            },
            text("when", l.short_text_chars, false),
            FieldSpec {
                name: "ongoing",
                kind: FieldKind::SingleChoice,
                required: true,
                max_chars: None,
                min_chars: None,
                choices: crate::Ongoing::ALL
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect(),
            },
            FieldSpec {
                name: "evidence",
                kind: FieldKind::Files,
                required: false,
                max_chars: None,
                min_chars: None,
                choices: vec![],
            },
            FieldSpec {
                name: "contact",
                kind: FieldKind::Textarea,
                required: false,
                max_chars: Some(l.contact_chars),
                min_chars: None,
                choices: vec![],
            },
        ]
    }
}

fn toml_like_parse(text: &str) -> Result<Questionnaire, QuestionnaireError> {
    toml::from_str(text).map_err(|e| QuestionnaireError::Parse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
version = 3
[[products]]
id = "implant"
label = { en = "Implant", fr = "Implant" }
"#;

    #[test]
    fn parses_and_lists_fields_in_order() {
        let q = Questionnaire::from_toml(GOOD).unwrap();
        assert_eq!(q.version(), 3);
        let names: Vec<_> = q.fields().iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "product",
                "suspected_customer",
                "country",
                "targeted",
                "what_happened",
                "when",
                "ongoing",
                "evidence",
                "contact"
            ]
        );
        assert_eq!(q.product_label("implant", "de"), Some("Implant"));
    }

    #[test]
    fn rejects_unknown_keys_and_bad_ids() {
        assert!(matches!(
            Questionnaire::from_toml("version = 1\nproducts = []\nextra = 1"),
            Err(QuestionnaireError::Parse(m)) if m.contains("extra")
        ));
        assert!(matches!(
            Questionnaire::from_toml("version = 1\nproducts = []"),
            Err(QuestionnaireError::NoProducts)
        ));
        let bad = "version = 1\n[[products]]\nid = \"A B\"\nlabel = { en = \"x\" }";
        assert!(matches!(
            Questionnaire::from_toml(bad),
            Err(QuestionnaireError::BadProductId(_))
        ));
    }
}
