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
    #[error("message {0:?} is defined by two catalogues")]
    Duplicate(String),
}

/// The messages every door shares, by language.
const SHARED: &[(&str, &str)] = &[("en", include_str!("../locales/en.toml"))];

impl Messages {
    /// The shared catalogue for `lang` with a door's own catalogue (`door`: language →
    /// TOML) on top. A key defined in both is an error, so a door cannot silently
    /// change a shared message.
    pub fn layered(lang: &str, door: &[(&str, &str)]) -> Result<Self, MessagesError> {
        Self::from_layers(lang, &[pick(SHARED, lang)?, pick(door, lang)?])
    }

    /// One catalogue from TOML layers, each key defined in exactly one of them.
    pub fn from_layers(lang: &str, layers: &[&str]) -> Result<Self, MessagesError> {
        let mut strings = HashMap::new();
        for text in layers {
            let table: toml::Table = toml::from_str(text).map_err(|e| MessagesError::Parse(e.to_string()))?;
            let mut layer = HashMap::new();
            flatten("", &table, &mut layer)?;
            for (key, value) in layer {
                if strings.insert(key.clone(), value).is_some() {
                    return Err(MessagesError::Duplicate(key));
                }
            }
        }
        Ok(Self {
            lang: lang.into(),
            strings: Arc::new(strings),
        })
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The catalogue's writing direction, for `dir` beside `lang`.
    pub fn dir(&self) -> &'static str {
        text_direction(&self.lang)
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

/// `"rtl"` for a language written right to left, `"ltr"` otherwise, from a BCP 47 tag:
/// a script subtag decides (`pa-Arab` is right to left, `ku-Latn` left to right), else
/// the language does.
pub fn text_direction(lang: &str) -> &'static str {
    const RTL_SCRIPTS: [&str; 8] = ["arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand"];
    const RTL_LANGUAGES: [&str; 14] = [
        "ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "syr", "ug", "ur", "yi",
    ];
    let mut subtags = lang.split(['-', '_']).map(str::to_ascii_lowercase);
    let language = subtags.next().unwrap_or_default();
    let script = subtags.find(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic()));
    let rtl = match script {
        Some(script) => RTL_SCRIPTS.contains(&script.as_str()),
        None => RTL_LANGUAGES.contains(&language.as_str()),
    };
    if rtl { "rtl" } else { "ltr" }
}

fn pick<'a>(catalogues: &[(&str, &'a str)], lang: &str) -> Result<&'a str, MessagesError> {
    catalogues
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, text)| *text)
        .ok_or_else(|| MessagesError::UnknownLanguage(lang.to_owned()))
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

    const DOOR: &[(&str, &str)] = &[("en", "[door]\ngreeting = \"Hello {name}\"\n")];

    #[test]
    fn a_door_layers_its_messages_on_the_shared_ones() {
        let m = Messages::layered("en", DOOR).unwrap();
        assert!(m.has("error.not_found"));
        assert_eq!(m.fill("door.greeting", &[("name", "you")]), "Hello you");
        assert_eq!(m.get("no.such.key"), "⟦no.such.key⟧");
        assert!(matches!(
            Messages::layered("xx", DOOR),
            Err(MessagesError::UnknownLanguage(_))
        ));
    }

    #[test]
    fn direction_follows_the_language_and_its_script() {
        for ltr in ["en", "en-GB", "fr", "ku-Latn", "az", "uz-Cyrl", "zh-Hant-TW", ""] {
            assert_eq!(text_direction(ltr), "ltr", "{ltr}");
        }
        for rtl in [
            "ar",
            "ar-EG",
            "he",
            "fa_IR",
            "ur",
            "ckb",
            "pa-Arab",
            "az-Arab-IR",
            "yi",
        ] {
            assert_eq!(text_direction(rtl), "rtl", "{rtl}");
        }
        assert_eq!(Messages::layered("en", DOOR).unwrap().dir(), "ltr");
    }

    #[test]
    fn a_key_defined_twice_is_refused() {
        let clash: &[(&str, &str)] = &[("en", "[error]\nnot_found = \"Elsewhere\"\n")];
        assert!(
            matches!(Messages::layered("en", clash), Err(MessagesError::Duplicate(k)) if k == "error.not_found")
        );
    }
}
