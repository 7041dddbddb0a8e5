//! The OpenAPI 3.1 description of the intake API, built from the questionnaire's field
//! descriptions (`Questionnaire::fields`, the same list `GET /api/v1/questionnaire`
//! serves) and the upload limits in force, so that a request valid against it is one
//! the server accepts.
//!
//! What the server does to a text answer, and so what the schema must allow for: it
//! replaces `\r\n` with `\n`, trims white space (`char::is_whitespace`) from both ends,
//! treats what is left empty as absent, counts characters (Unicode scalar values, as
//! JSON Schema's `maxLength` does) and refuses control characters (`char::is_control`)
//! except `\n` and `\t` in multi-line answers. The schema is never looser than that:
//! `maxLength` counts before normalising (never fewer characters than the server
//! counts), and a lone `\r` is refused where the server would trim it at an end.
//! Patterns are ECMA-262 regular expressions with Unicode semantics, as JSON Schema
//! 2020-12 asks; they name every character range explicitly instead of using `\s`,
//! whose meaning differs between regular-expression dialects. Byte limits, which JSON
//! Schema cannot state for a multipart part, are given as `x-max-bytes` and
//! `x-max-total-bytes` besides the prose.

use redress_domain::{FieldKind, FieldSpec};
use serde_json::{Map, Value, json};

use crate::IntakeState;

/// Code points that `char::is_whitespace` accepts (Unicode `White_Space`), which
/// `str::trim` removes.
const WHITE_SPACE: &[(u32, u32)] = &[
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
];

/// Code points that `char::is_control` accepts (Unicode `Cc`).
const CONTROL: &[(u32, u32)] = &[(0x00, 0x1F), (0x7F, 0x9F)];

/// Controls a multi-line answer may hold: `\t` and `\n` (and `\r` only before `\n`).
const CONTROL_BUT_TAB_AND_NEWLINE: &[(u32, u32)] = &[(0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F)];

/// The body of a regular-expression character class for `ranges`.
fn class(ranges: &[(u32, u32)]) -> String {
    ranges
        .iter()
        .map(|&(from, to)| {
            if from == to {
                format!("\\u{from:04X}")
            } else {
                format!("\\u{from:04X}-\\u{to:04X}")
            }
        })
        .collect()
}

/// A whole answer made only of characters the server allows.
fn allowed_characters(multiline: bool) -> String {
    if multiline {
        format!("^(?:[^{}]|\\r\\n)*$", class(CONTROL_BUT_TAB_AND_NEWLINE))
    } else {
        format!("^[^{}]*$", class(CONTROL))
    }
}

/// An answer that still has at least `min` characters once trimmed and once each
/// `\r\n` counts as one: a non-space, `min - 2` characters or line breaks, a non-space.
/// Unanchored, so any white space may surround it.
fn at_least_trimmed(min: usize) -> String {
    let non_space = format!("[^{}]", class(WHITE_SPACE));
    match min {
        0 | 1 => non_space,
        n => format!("{non_space}(?:\\r\\n|[^\\r]){{{},}}{non_space}", n - 2),
    }
}

/// The JSON Schema of one answer.
fn answer_schema(state: &IntakeState, f: &FieldSpec) -> Value {
    let mut s = Map::new();
    s.insert("title".into(), json!(state.field_label(f.name)));
    let hint = state.field_hint(f.name);
    if !hint.is_empty() {
        s.insert("description".into(), json!(hint));
    }
    let nullable = |t: &str| if f.required { json!(t) } else { json!([t, "null"]) };
    match f.kind {
        FieldKind::Select | FieldKind::SingleChoice => {
            let mut choices: Vec<Value> = f.choices.iter().map(|c| json!(c)).collect();
            if !f.required {
                choices.push(Value::Null);
            }
            s.insert("type".into(), nullable("string"));
            s.insert("enum".into(), Value::Array(choices));
        }
        FieldKind::MultiChoice => {
            s.insert("type".into(), json!("array"));
            if f.required {
                s.insert("minItems".into(), json!(1));
            }
            s.insert("items".into(), json!({ "type": "string", "enum": f.choices }));
        }
        FieldKind::Text | FieldKind::Textarea => {
            let multiline = f.kind == FieldKind::Textarea;
            s.insert("type".into(), nullable("string"));
            if let Some(max) = f.max_chars {
                s.insert("maxLength".into(), json!(max));
            }
            s.insert("pattern".into(), json!(allowed_characters(multiline)));
            let min = match f.min_chars {
                Some(n) => n,
                None if f.required => 1,
                None => 0,
            };
            if min > 0 {
                s.insert(
                    "allOf".into(),
                    json!([{
                        "description": format!("At least {min} character(s) besides the white space around them"),
                        "pattern": at_least_trimmed(min),
                    }]),
                );
            }
        }
        // Files travel as `evidence` parts, not in the answers.
        FieldKind::Files => return Value::Null,
    }
    Value::Object(s)
}

/// The `Answers` schema: every answer the questionnaire has, nothing else.
fn answers_schema(state: &IntakeState) -> Value {
    let fields = state.questionnaire.fields();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in fields.iter().filter(|f| f.kind != FieldKind::Files) {
        properties.insert(f.name.to_owned(), answer_schema(state, f));
        if f.required {
            required.push(f.name);
        }
    }
    json!({
        "type": "object",
        "description": "The answers, as JSON. Text is trimmed and `\\r\\n` becomes `\\n`; an optional answer that is null, absent, empty or only white space is not given.",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

fn questionnaire_schema() -> Value {
    let kinds = [
        FieldKind::Select,
        FieldKind::Text,
        FieldKind::Textarea,
        FieldKind::MultiChoice,
        FieldKind::SingleChoice,
        FieldKind::Files,
    ];
    json!({
        "type": "object",
        "required": ["version", "language", "fields", "limits"],
        "properties": {
            "version": { "type": "integer" },
            "language": { "type": "string" },
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "kind", "required", "label", "hint"],
                    "properties": {
                        "name": { "type": "string" },
                        "kind": { "enum": kinds },
                        "required": { "type": "boolean" },
                        "max_chars": { "type": "integer" },
                        "min_chars": { "type": "integer" },
                        "label": { "type": "string" },
                        "hint": { "type": "string" },
                        "choices": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["value", "label"],
                                "properties": { "value": { "type": "string" }, "label": { "type": "string" } }
                            }
                        }
                    }
                }
            },
            "limits": {
                "type": "object",
                "required": ["max_file_bytes", "max_report_bytes", "max_files"],
                "properties": {
                    "max_file_bytes": { "type": "integer" },
                    "max_report_bytes": { "type": "integer" },
                    "max_files": { "type": "integer" }
                }
            }
        }
    })
}

/// The whole document for this intake's questionnaire and limits.
pub fn document(state: &IntakeState) -> Value {
    let l = &state.limits;
    let report_part_max_bytes = crate::submission::report_part_max_bytes(&state.questionnaire);
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    let mut doc = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Redress intake API",
            "version": format!("1.0.0+questionnaire.{}", state.questionnaire.version()),
            "description": "Anonymous submission of misuse reports, and the way back with the receipt. No authentication to submit: the API is as public as the web form; the follow-up uses a session token its receipt opened. Nothing identifying the client is stored or logged. Every answer and file is encrypted on arrival; the receipt in the response is shown once and cannot be recovered. A request that is valid against this document is accepted unless the service is busy or low on storage (503)."
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "operationId": "submitReport",
                    "summary": "Submit a report with zero or more evidence files",
                    "requestBody": {
                        "required": true,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "description": "Exactly one `report` part and any number of `evidence` parts up to the limit, in any order; any other part is refused.",
                                    "additionalProperties": false,
                                    "required": ["report"],
                                    "properties": {
                                        "report": {
                                            "$ref": "#/components/schemas/Answers",
                                            "description": format!("The answers as one JSON part of at most {report_part_max_bytes} bytes."),
                                            "x-max-bytes": report_part_max_bytes,
                                        },
                                        "evidence": {
                                            "type": "array",
                                            "maxItems": l.max_files,
                                            "x-max-total-bytes": l.max_report_bytes,
                                            "description": format!(
                                                "Evidence files: at most {} files of at most {} bytes each and {} bytes together. Any content type; a part with an empty file name and no content (an empty file input) is skipped.",
                                                l.max_files, l.max_file_bytes, l.max_report_bytes
                                            ),
                                            "items": {
                                                "type": "string",
                                                "contentMediaType": "application/octet-stream",
                                                "x-max-bytes": l.max_file_bytes,
                                                "description": "A file. Its name (`filename*` preferred over `filename`) must be a plain name of at most 255 bytes: no `/` or `\\`, no control or invisible formatting characters, not `.` or `..`."
                                            }
                                        }
                                    }
                                },
                                "encoding": { "report": { "contentType": "application/json" } }
                            }
                        }
                    },
                    "responses": {
                        "201": {
                            "description": "Stored. The receipt is shown only in this response.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Created" } } }
                        },
                        "400": error("The body could not be read: not multipart, a missing, repeated or unknown part, JSON that is not valid or has unknown keys, a file name that is not allowed. Nothing was stored."),
                        "408": error("The upload stalled or was too slow. Nothing was stored."),
                        "413": error("Too many files, a file or all files too large, or the report part too large. Nothing was stored."),
                        "422": error("An answer is not valid; `field` names the first one. Nothing was stored."),
                        "500": error("The report could not be stored. Nothing was stored."),
                        "503": {
                            "description": "Busy or low on storage; try again after `Retry-After` seconds. Nothing was stored.",
                            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                        }
                    }
                }
            },
            "/api/v1/questionnaire": {
                "get": {
                    "operationId": "getQuestionnaire",
                    "summary": "The questionnaire: fields, labels, choices and upload limits",
                    "responses": {
                        "200": {
                            "description": "The questionnaire",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Questionnaire" } } }
                        }
                    }
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": { "200": { "description": "OpenAPI 3.1 document", "content": { "application/json": {} } } }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "followupSession": { "type": "http", "scheme": "bearer", "description": "The token of `POST /api/v1/followup/session`" }
            },
            "schemas": {
                "Answers": answers_schema(state),
                "Questionnaire": questionnaire_schema(),
                "Created": {
                    "type": "object",
                    "required": ["receipt", "case_ref"],
                    "properties": {
                        "receipt": { "type": "string", "description": "Eight words; the only way back to the report" },
                        "case_ref": { "type": "string", "pattern": "^RD-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$" }
                    }
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": { "type": "string", "description": "Stable and machine-readable, e.g. `required`, `too_long`, `file_too_large`, `busy`" },
                                "message": { "type": "string", "description": "For a person, in the service's language" },
                                "field": { "type": "string", "description": "The answer, or `report` or `evidence`, that the error is about" }
                            }
                        }
                    }
                }
            }
        }
    });
    let extend = |doc: &mut Value, at: &str, more: Value| {
        if let (Some(into), Value::Object(more)) = (doc.pointer_mut(at).and_then(Value::as_object_mut), more)
        {
            into.extend(more);
        }
    };
    extend(&mut doc, "/paths", followup_paths(state));
    extend(&mut doc, "/components/schemas", followup_schemas());
    doc
}

/// The follow-up's paths: the way back with the receipt.
fn followup_paths(state: &IntakeState) -> Value {
    let l = &state.limits;
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    json!({
            "/api/v1/followup/session": {
                "post": {
                    "operationId": "openFollowup",
                    "summary": "Come back with the receipt: open a follow-up session",
                    "description": "The receipt's key derivation runs for every request, so a wrong receipt takes as long as a right one and gets the same answer. Wrong receipts spend a budget shared by everyone each minute; past it, every look-up waits.",
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["receipt"],
                            "properties": { "receipt": { "type": "string", "description": "The eight words; case, spaces and hyphens do not matter, and the first four letters of each word are enough." } }
                        } } }
                    },
                    "responses": {
                        "201": {
                            "description": "A session. The token is shown only here; send it as `Authorization: Bearer <token>`.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FollowupSession" } } }
                        },
                        "400": error("The body is not a JSON object with a `receipt` string."),
                        "422": error("The receipt opens no report."),
                        "429": {
                            "description": "Too many wrong receipts this minute; try again after `Retry-After` seconds.",
                            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                        },
                        "503": error("The service cannot look receipts up right now.")
                    }
                },
                "delete": {
                    "operationId": "endFollowup",
                    "summary": "End the session",
                    "security": [{ "followupSession": [] }],
                    "responses": {
                        "204": { "description": "Ended; the token opens nothing any more." },
                        "401": error("No session, or it has ended.")
                    }
                }
            },
            "/api/v1/followup/case": {
                "get": {
                    "operationId": "readFollowup",
                    "summary": "The report's status, its dates and the whole conversation",
                    "security": [{ "followupSession": [] }],
                    "responses": {
                        "200": {
                            "description": "The case as the reporter may read it: never internal notes, triage findings, priority, labels or who wrote what.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FollowupCase" } } }
                        },
                        "401": error("No session, or it has ended (after 15 minutes without a request, or an hour after it opened).")
                    }
                }
            },
            "/api/v1/followup/messages": {
                "post": {
                    "operationId": "sendFollowupMessage",
                    "summary": "Send a message and files to the investigators",
                    "security": [{ "followupSession": [] }],
                    "requestBody": {
                        "required": true,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "description": "At most one `message` part and any number of `evidence` parts up to the limit, in any order; a message, a file, or both. Any other part is refused.",
                                    "additionalProperties": false,
                                    "properties": {
                                        "message": { "type": "string", "maxLength": redress_domain::EntryText::MAX_CHARS, "description": "Plain text; trimmed; control characters other than new lines and tabs are refused." },
                                        "evidence": {
                                            "type": "array",
                                            "maxItems": l.max_files,
                                            "x-max-total-bytes": l.max_report_bytes,
                                            "items": { "type": "string", "contentMediaType": "application/octet-stream", "x-max-bytes": l.max_file_bytes },
                                            "description": "Files, under the same limits and name rules as a report's."
                                        }
                                    }
                                }
                            }
                        }
                    },
                    "responses": {
                        "201": {
                            "description": "Stored, sealed to the case's thread key. The investigators are told, without its content.",
                            "content": { "application/json": { "schema": {
                                "type": "object", "required": ["seq"],
                                "properties": { "seq": { "type": "integer", "description": "Its number in the conversation" } }
                            } } }
                        },
                        "400": error("The body could not be read. Nothing was stored."),
                        "401": error("No session, or it has ended."),
                        "408": error("The upload stalled or was too slow. Nothing was stored."),
                        "413": error("Too many files, or a file or all files too large. Nothing was stored."),
                        "422": error("Neither a message nor a file, or the message is too long or holds characters that are not allowed. Nothing was stored."),
                        "503": error("Busy or low on storage; try again after `Retry-After` seconds. Nothing was stored.")
                    }
                }
            },
            "/api/v1/followup/messages/{seq}/read": {
                "post": {
                    "operationId": "markFollowupRead",
                    "summary": "Mark one of the investigators' messages as read",
                    "security": [{ "followupSession": [] }],
                    "parameters": [{ "name": "seq", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } }],
                    "responses": {
                        "204": { "description": "Marked; the investigators see that it was read." },
                        "401": error("No session, or it has ended."),
                        "404": error("No message of the investigators has that number.")
                    }
                }
            }
    })
}

/// The schemas of the follow-up's answers.
fn followup_schemas() -> Value {
    json!({
                "FollowupSession": {
                    "type": "object",
                    "required": ["token", "case_ref", "idle_timeout_secs", "expires_in_secs"],
                    "properties": {
                        "token": { "type": "string", "description": "The session's key; the server keeps only its hash" },
                        "case_ref": { "type": "string", "pattern": "^RD-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$" },
                        "idle_timeout_secs": { "type": "integer" },
                        "expires_in_secs": { "type": "integer" }
                    }
                },
                "FollowupFile": {
                    "type": "object",
                    "required": ["name", "size", "sha256"],
                    "properties": {
                        "name": { "type": "string" },
                        "size": { "type": "integer" },
                        "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" }
                    }
                },
                "FollowupCase": {
                    "type": "object",
                    "required": ["case_ref", "state", "status", "received_on", "report", "messages"],
                    "properties": {
                        "case_ref": { "type": "string" },
                        "state": { "enum": redress_domain::CaseState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() },
                        "status": { "type": "string", "description": "The state in plain words" },
                        "received_on": { "$ref": "#/components/schemas/Day" },
                        "acknowledgement_due_on": { "$ref": "#/components/schemas/Day" },
                        "acknowledged_on": { "$ref": "#/components/schemas/Day" },
                        "assessment": { "enum": redress_domain::Assessment::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>() },
                        "feedback_due_on": { "$ref": "#/components/schemas/Day" },
                        "closed_on": { "$ref": "#/components/schemas/Day" },
                        "report": {
                            "type": "object",
                            "required": ["on", "answers", "files"],
                            "properties": {
                                "on": { "$ref": "#/components/schemas/Day" },
                                "answers": { "type": "object", "description": "The answers as stored" },
                                "files": { "type": "array", "items": { "$ref": "#/components/schemas/FollowupFile" } }
                            }
                        },
                        "messages": {
                            "type": "array",
                            "description": "In the order they were written",
                            "items": {
                                "type": "object",
                                "required": ["seq", "from", "kind", "on", "text", "files"],
                                "properties": {
                                    "seq": { "type": "integer" },
                                    "from": { "enum": ["you", "investigators"] },
                                    "kind": { "enum": redress_domain::EntryKind::ALL.iter().filter(|k| k.sealed_to() == redress_domain::SealedTo::Thread).map(|k| k.as_str()).collect::<Vec<_>>() },
                                    "on": { "$ref": "#/components/schemas/Day" },
                                    "text": { "type": "string" },
                                    "files": { "type": "array", "items": { "$ref": "#/components/schemas/FollowupFile" } },
                                    "read": { "type": "boolean", "description": "For the investigators' messages: marked read" }
                                }
                            }
                        }
                    }
                },
                "Day": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "A day (UTC); nothing finer" }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
        ranges
            .iter()
            .any(|&(from, to)| (from..=to).contains(&u32::from(c)))
    }

    #[test]
    fn the_character_ranges_are_exactly_what_the_server_trims_and_refuses() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(in_ranges(WHITE_SPACE, c), c.is_whitespace(), "{c:?}");
            assert_eq!(in_ranges(CONTROL, c), c.is_control(), "{c:?}");
            assert_eq!(
                in_ranges(CONTROL_BUT_TAB_AND_NEWLINE, c),
                c.is_control() && c != '\t' && c != '\n',
                "{c:?}"
            );
        }
    }

    #[test]
    fn patterns_read_as_written() {
        assert_eq!(allowed_characters(false), "^[^\\u0000-\\u001F\\u007F-\\u009F]*$");
        assert_eq!(
            allowed_characters(true),
            "^(?:[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]|\\r\\n)*$"
        );
        let non_space = "[^\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028-\\u2029\\u202F\\u205F\\u3000]";
        assert_eq!(at_least_trimmed(1), non_space);
        assert_eq!(
            at_least_trimmed(10),
            format!("{non_space}(?:\\r\\n|[^\\r]){{8,}}{non_space}")
        );
    }
}
