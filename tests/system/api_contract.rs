//! The OpenAPI document is a contract: a request valid against the served document is
//! accepted, and one that breaks one of its constraints is refused naming the field.
//!
//! The answers are built from the served document (enums, bounds) and checked against
//! it by a small validator below that knows exactly the keywords the document uses and
//! fails on any other, so a constraint the server adds cannot be skipped silently.

use regex::Regex;
use reqwest::multipart::{Form, Part};
use serde_json::{Map, Value, json};

use crate::helpers::*;

/// Four bytes in UTF-8, one character: lengths are counted in characters, not bytes.
const WIDE: char = '𐍈';

/// Why `value` is not valid against `schema` (`None` if it is). `root` resolves `$ref`.
pub(crate) fn violation(root: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = schema.as_object().expect("a schema is an object");
    for (keyword, arg) in schema {
        let bad = |why: String| Some(format!("{at}: {keyword}: {why}"));
        match keyword.as_str() {
            "title" | "description" => {}
            k if k.starts_with("x-") => {}
            "$ref" => {
                let path = arg.as_str().unwrap().strip_prefix("#/").unwrap();
                let target = path.split('/').fold(root, |v, key| &v[key]);
                assert!(!target.is_null(), "$ref {path} resolves");
                if let Some(v) = violation(root, target, value, at) {
                    return Some(v);
                }
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => panic!("type is a string or a list"),
                };
                let actual = match value {
                    Value::Null => "null",
                    Value::Bool(_) => "boolean",
                    // JSON Schema's integer is a number without a fraction.
                    Value::Number(n) if n.is_i64() || n.is_u64() => {
                        if types.contains(&"integer") {
                            "integer"
                        } else {
                            "number"
                        }
                    }
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                if !types.contains(&actual) {
                    return bad(format!("{actual} is not {types:?}"));
                }
            }
            "enum" => {
                if !arg.as_array().unwrap().contains(value) {
                    return bad(format!("{value} is not one of {arg}"));
                }
            }
            "maxLength" => {
                if let Some(s) = value.as_str()
                    && s.chars().count() as u64 > arg.as_u64().unwrap()
                {
                    return bad(format!("{} characters", s.chars().count()));
                }
            }
            "pattern" => {
                if let Some(s) = value.as_str()
                    && !Regex::new(arg.as_str().unwrap()).unwrap().is_match(s)
                {
                    return bad(format!("{s:?} does not match {arg}"));
                }
            }
            "minItems" | "maxItems" => {
                if let Some(items) = value.as_array() {
                    let n = items.len() as u64;
                    let bound = arg.as_u64().unwrap();
                    if (keyword == "minItems" && n < bound) || (keyword == "maxItems" && n > bound) {
                        return bad(format!("{n} items"));
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    if let Some(v) = violation(root, arg, item, &format!("{at}[{i}]")) {
                        return Some(v);
                    }
                }
            }
            "allOf" => {
                for sub in arg.as_array().unwrap() {
                    if let Some(v) = violation(root, sub, value, at) {
                        return Some(v);
                    }
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for name in arg.as_array().unwrap() {
                        if !object.contains_key(name.as_str().unwrap()) {
                            return bad(format!("{name} is missing"));
                        }
                    }
                }
            }
            "properties" => {
                for (name, v) in value.as_object().into_iter().flatten() {
                    if let Some(sub) = arg.get(name)
                        && let Some(why) = violation(root, sub, v, &format!("{at}.{name}"))
                    {
                        return Some(why);
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(arg, &Value::Bool(false), "only `false` is understood");
                let known = schema["properties"].as_object().unwrap();
                if let Some(extra) = value
                    .as_object()
                    .and_then(|o| o.keys().find(|k| !known.contains_key(*k)))
                {
                    return bad(format!("{extra} is not allowed"));
                }
            }
            other => panic!("the contract test does not understand the keyword {other:?} at {at}"),
        }
    }
    None
}

struct Contract {
    doc: Value,
    /// field name → its schema in `Answers`.
    fields: Map<String, Value>,
    required: Vec<String>,
    /// field name → fewest characters once trimmed, from the questionnaire.
    min_chars: Map<String, Value>,
}

impl Contract {
    async fn fetch(app: &TestApp) -> Self {
        let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
        let answers = &doc["components"]["schemas"]["Answers"];
        let fields = answers["properties"].as_object().unwrap().clone();
        let required = answers["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        let q: Value = app.get("/api/v1/questionnaire").await.json().await.unwrap();
        let min_chars = q["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| Some((f["name"].as_str()?.to_owned(), f.get("min_chars")?.clone())))
            .collect();
        Self {
            doc,
            fields,
            required,
            min_chars,
        }
    }

    fn check(&self, answers: &Value) -> Option<String> {
        let schema = json!({ "$ref": "#/components/schemas/Answers" });
        violation(&self.doc, &schema, answers, "report")
    }

    fn min(&self, field: &str) -> usize {
        self.min_chars
            .get(field)
            .map_or(1, |m| usize::try_from(m.as_u64().unwrap()).unwrap())
    }

    fn max(&self, field: &str) -> usize {
        usize::try_from(self.fields[field]["maxLength"].as_u64().unwrap()).unwrap()
    }

    fn is_multiline(&self, field: &str) -> bool {
        // A multi-line answer's pattern lets `\n` through; a single-line one does not.
        Regex::new(self.fields[field]["pattern"].as_str().unwrap())
            .unwrap()
            .is_match("a\nb")
    }

    fn text_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(_, s)| s.get("maxLength").is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The smallest valid report: required answers only, each the first choice or the
    /// shortest text.
    fn baseline(&self) -> Value {
        let mut answers = Map::new();
        for name in &self.required {
            let s = &self.fields[name];
            let value = if let Some(choices) = s.get("enum") {
                choices[0].clone()
            } else if let Some(choices) = s["items"].get("enum") {
                json!([choices[0]])
            } else {
                json!("x".repeat(self.min(name)))
            };
            answers.insert(name.clone(), value);
        }
        Value::Object(answers)
    }

    fn with(&self, field: &str, value: Value) -> Value {
        let mut answers = self.baseline();
        answers[field] = value;
        answers
    }

    fn without(&self, field: &str) -> Value {
        let mut answers = self.baseline();
        answers.as_object_mut().unwrap().remove(field);
        answers
    }
}

/// Answers at every boundary the document states, each valid against it.
fn boundary_valid(c: &Contract) -> Vec<(String, Value)> {
    let mut cases = vec![("required answers only".to_owned(), c.baseline())];
    for (name, s) in &c.fields {
        if let Some(choices) = s.get("enum") {
            for choice in choices.as_array().unwrap() {
                cases.push((format!("{name} = {choice}"), c.with(name, choice.clone())));
            }
        }
        if let Some(choices) = s["items"].get("enum") {
            for choice in choices.as_array().unwrap() {
                cases.push((format!("{name} = [{choice}]"), c.with(name, json!([choice]))));
            }
            cases.push((format!("{name} = every choice"), c.with(name, choices.clone())));
        }
    }
    for name in c.text_fields() {
        let max = c.max(&name);
        let multiline = c.is_multiline(&name);
        let longest: String = std::iter::repeat_n(WIDE, max).collect();
        cases.push((
            format!("{name} at its maximum length"),
            c.with(&name, json!(longest)),
        ));
        // White space the server trims, inside the bound on the raw text.
        let around = if multiline {
            " \u{3000}\r\n\t"
        } else {
            " \u{3000}\u{a0}"
        };
        let min = c.min(&name);
        let shortest: String = std::iter::repeat_n(WIDE, min).collect();
        cases.push((
            format!("{name} at its minimum length, surrounded by white space"),
            c.with(&name, json!(format!("{around}{shortest}{around}"))),
        ));
        if multiline && min >= 4 {
            // `\r\n` counts as one character, as the server counts it.
            let mut text = String::from("a");
            while text.replace("\r\n", "\n").chars().count() < min - 1 {
                text.push_str(if text.ends_with('\n') { "b" } else { "\r\n" });
            }
            text.push('z');
            cases.push((
                format!("{name} at its minimum length with CRLF line breaks"),
                c.with(&name, json!(text)),
            ));
        }
        if !c.required.contains(&name) {
            cases.push((format!("{name} absent"), c.without(&name)));
            cases.push((format!("{name} null"), c.with(&name, Value::Null)));
            cases.push((format!("{name} only white space"), c.with(&name, json!(around))));
        }
    }
    cases
}

/// One answer breaking one constraint, with the field the refusal must name.
fn one_invalid_each(c: &Contract) -> Vec<(String, Value, String)> {
    let mut cases = Vec::new();
    for name in &c.required {
        cases.push((format!("{name} missing"), c.without(name), name.clone()));
    }
    for (name, s) in &c.fields {
        if s.get("enum").is_some() {
            cases.push((
                format!("{name} not a choice"),
                c.with(name, json!("nonsense")),
                name.clone(),
            ));
        }
        if s["items"].get("enum").is_some() {
            cases.push((
                format!("{name} not a choice"),
                c.with(name, json!(["nonsense"])),
                name.clone(),
            ));
            if s.get("minItems").is_some() {
                cases.push((format!("{name} empty"), c.with(name, json!([])), name.clone()));
            }
        }
    }
    for name in c.text_fields() {
        let too_long: String = std::iter::repeat_n(WIDE, c.max(&name) + 1).collect();
        cases.push((
            format!("{name} too long"),
            c.with(&name, json!(too_long)),
            name.clone(),
        ));
        let control = if c.is_multiline(&name) {
            "carriage\rreturn"
        } else {
            "line\nbreak"
        };
        cases.push((
            format!("{name} with a control character"),
            c.with(&name, json!(control)),
            name.clone(),
        ));
        cases.push((
            format!("{name} with a C1 control"),
            c.with(&name, json!("next\u{85}line")),
            name.clone(),
        ));
        if c.required.contains(&name) {
            cases.push((
                format!("{name} only white space"),
                c.with(&name, json!(" \u{3000} ")),
                name.clone(),
            ));
            let min = c.min(&name);
            if min > 1 {
                let short: String = std::iter::repeat_n(WIDE, min - 1).collect();
                cases.push((
                    format!("{name} one character short"),
                    c.with(&name, json!(format!("  {short}  "))),
                    name.clone(),
                ));
                // Long enough counted raw, too short once `\r\n` counts as one.
                let mut text = String::from("a");
                while text.replace("\r\n", "\n").chars().count() < min - 2 {
                    text.push_str(if text.ends_with('\n') { "b" } else { "\r\n" });
                }
                text.push('z');
                assert!(text.chars().count() >= min, "{text:?} is long counted raw");
                cases.push((
                    format!("{name} short once CRLF counts as one"),
                    c.with(&name, json!(text)),
                    name.clone(),
                ));
            }
        }
    }
    let mut extra = c.baseline();
    extra["favourite_colour"] = json!("blue");
    cases.push(("an unknown answer".into(), extra, "favourite_colour".into()));
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_valid_against_the_openapi_document_is_accepted() {
    let app = TestApp::spawn().await;
    let c = Contract::fetch(&app).await;
    assert!(
        c.fields["what_happened"]["allOf"].is_array(),
        "what happened has a trimmed minimum"
    );
    let cases = boundary_valid(&c);
    assert!(cases.len() > 25, "{} cases", cases.len());
    for (what, answers) in &cases {
        assert_eq!(c.check(answers), None, "{what} is valid against the document");
        let res = app.api_submit(answers, &[]).await;
        let status = res.status();
        assert_eq!(status, 201, "{what}: {}", res.text().await.unwrap());
    }
    assert_eq!(app.store.case_count().await.unwrap(), cases.len() as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_breaking_one_constraint_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let c = Contract::fetch(&app).await;
    for (what, answers, field) in one_invalid_each(&c) {
        assert!(c.check(&answers).is_some(), "{what}: the document refuses it too");
        let res = app.api_submit(&answers, &[]).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        let error = &body["error"];
        if what == "an unknown answer" {
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(error["field"], "report", "{what}: {body}");
            assert!(
                error["message"].as_str().unwrap().contains(&field),
                "{what}: {body}"
            );
        } else {
            assert_eq!(status, 422, "{what}: {body}");
            assert_eq!(error["field"], field.as_str(), "{what}: {body}");
        }
    }
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_multipart_envelope_limits_are_the_documented_ones() {
    let app = TestApp::spawn_with(|c| {
        c.limits.max_files = 3;
        c.limits.max_file_mib = 1;
        c.limits.max_report_mib = 2;
    })
    .await;
    let c = Contract::fetch(&app).await;
    let body =
        &c.doc["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"];
    assert_eq!(body["additionalProperties"], false);
    assert_eq!(body["required"], json!(["report"]));
    let n = |v: &Value| usize::try_from(v.as_u64().unwrap()).unwrap();
    let evidence = &body["properties"]["evidence"];
    let (max_files, max_total, max_file) = (
        n(&evidence["maxItems"]),
        n(&evidence["x-max-total-bytes"]),
        n(&evidence["items"]["x-max-bytes"]),
    );
    assert_eq!((max_files, max_file, max_total), (3, 1 << 20, 2 << 20));
    let answers = c.baseline();
    let code = |v: &Value| v["error"]["code"].as_str().unwrap().to_owned();

    // At the limits: accepted.
    let full = vec![0x5a_u8; max_file];
    let res = app
        .api_submit(&answers, &[("a.bin", &full), ("b.bin", &full)])
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .api_submit(&answers, &[("a", b"1"), ("b", b"2"), ("c", b"3")])
        .await;
    assert_eq!(res.status(), 201);
    // One past each: refused, naming what.
    let over = vec![0x5a_u8; max_file + 1];
    for (what, files, expected) in [
        (
            "a file too large",
            vec![("a.bin", over.as_slice())],
            "file_too_large",
        ),
        (
            "too much in all",
            vec![
                ("a.bin", full.as_slice()),
                ("b.bin", full.as_slice()),
                ("c.bin", b"1".as_slice()),
            ],
            "report_too_large",
        ),
        (
            "too many files",
            vec![("a", b"1".as_slice()), ("b", b"2"), ("c", b"3"), ("d", b"4")],
            "too_many_files",
        ),
    ] {
        let res = app.api_submit(&answers, &files).await;
        assert_eq!(res.status(), 413, "{what}");
        assert_eq!(code(&res.json().await.unwrap()), expected, "{what}");
    }

    // The report part: exactly the documented bytes (JSON padded with spaces) and one more.
    let max_part = n(&body["properties"]["report"]["x-max-bytes"]);
    let padded = |len: usize| {
        let mut text = answers.to_string();
        text.push_str(&" ".repeat(len - text.len()));
        Form::new().part("report", Part::text(text).mime_str("application/json").unwrap())
    };
    let res = app.api_submit_form(padded(max_part)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = app.api_submit_form(padded(max_part + 1)).await;
    assert_eq!(res.status(), 413);
    let refused: Value = res.json().await.unwrap();
    assert_eq!(refused["error"]["field"], "report", "{refused}");

    // Exactly one report part; no part the document does not name.
    let report = || {
        Part::text(answers.to_string())
            .mime_str("application/json")
            .unwrap()
    };
    let twice = Form::new().part("report", report()).part("report", report());
    let res = app.api_submit_form(twice).await;
    assert_eq!(res.status(), 400);
    assert_eq!(code(&res.json().await.unwrap()), "duplicate_part");
    let unknown = Form::new().part("report", report()).text("comment", "hello");
    let res = app.api_submit_form(unknown).await;
    assert_eq!(res.status(), 400);
    assert_eq!(code(&res.json().await.unwrap()), "unknown_part");
}
