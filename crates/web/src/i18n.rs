use std::collections::HashMap;
use std::sync::Arc;

/// The message catalogue: every string a visitor reads comes from here, keyed by a dotted
/// name, so another language is one more file in `locales/`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Messages {
    lang: Arc<str>,
    strings: Arc<HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum MessagesError {
    #[error("message catalogue is not valid TOML: {0}")]
    Parse(String),
    #[error("message {0:?} is not a string")]
    NotAString(String),
    #[error("no catalogue for language {0:?}")]
    UnknownLanguage(String),
}

const EN: &str = include_str!("../locales/en.toml");

impl Messages {
    /// The built-in catalogue for `lang`.
    pub fn builtin(lang: &str) -> Result<Self, MessagesError> {
        match lang {
            "en" => Self::from_toml("en", EN),
            other => Err(MessagesError::UnknownLanguage(other.to_owned())),
        }
    }

    pub fn from_toml(lang: &str, text: &str) -> Result<Self, MessagesError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| MessagesError::Parse(e.to_string()))?;
        let mut strings = HashMap::new();
        flatten("", &table, &mut strings)?;
        Ok(Self {
            lang: lang.into(),
            strings: Arc::new(strings),
        })
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The message for `key`. A missing key shows as `⟦key⟧` so tests can catch it.
    pub fn get<'a>(&'a self, key: &'a str) -> std::borrow::Cow<'a, str> {
        match self.strings.get(key) {
            Some(s) => std::borrow::Cow::Borrowed(s.as_str()),
            None => std::borrow::Cow::Owned(format!("⟦{key}⟧")),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.strings.contains_key(key)
    }

    /// The message for `key` with `{name}` placeholders filled in.
    pub fn fill(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).into_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut HashMap<String, String>,
) -> Result<(), MessagesError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(MessagesError::NotAString(key)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_english_loads_and_fills() {
        let m = Messages::builtin("en").unwrap();
        assert!(m.has("error.required"));
        assert_eq!(m.get("no.such.key"), "⟦no.such.key⟧");
        assert!(m.fill("error.too_long", &[("limit", "200")]).contains("200"));
        assert!(Messages::builtin("xx").is_err());
    }
}
