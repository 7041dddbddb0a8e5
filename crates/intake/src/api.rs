//! The JSON/multipart door for partner organisations.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use redress_web::ApiError;
use serde::Serialize;

use crate::IntakeState;
use crate::submission::{self, Mode, Refused};

#[derive(Serialize)]
struct Created {
    receipt: String,
    case_ref: String,
}

/// `POST /api/v1/reports`.
pub async fn submit(multipart: Multipart, state: web::Data<IntakeState>) -> Result<HttpResponse, ApiError> {
    match submission::receive(&state, multipart, Mode::Api, None).await {
        Ok(r) => Ok(HttpResponse::Created().json(Created {
            receipt: r.receipt.expose().to_owned(),
            case_ref: r.case_ref.to_string(),
        })),
        Err(Refused { error: e, .. }) => {
            let (_, message) = e.describe(&state);
            let err = ApiError::new(e.status(), e.code(), message);
            Err(match e.field() {
                Some(f) => err.with_field(f),
                None => err,
            })
        }
    }
}

#[derive(Serialize)]
struct ChoiceJson {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct FieldJson {
    name: &'static str,
    kind: redress_domain::FieldKind,
    required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_chars: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_chars: Option<usize>,
    label: String,
    hint: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    choices: Vec<ChoiceJson>,
}

#[derive(Serialize)]
struct LimitsJson {
    max_file_bytes: u64,
    max_report_bytes: u64,
    max_files: usize,
}

#[derive(Serialize)]
struct QuestionnaireJson {
    version: u32,
    language: String,
    fields: Vec<FieldJson>,
    limits: LimitsJson,
}

/// `GET /api/v1/questionnaire`: the questionnaire with labels from the catalogue.
pub async fn questionnaire(state: web::Data<IntakeState>) -> HttpResponse {
    let t = &state.messages;
    let q = &state.questionnaire;
    let fields = q
        .fields()
        .into_iter()
        .map(|f| FieldJson {
            name: f.name,
            kind: f.kind,
            required: f.required,
            max_chars: f.max_chars,
            min_chars: f.min_chars,
            label: state.field_label(f.name),
            hint: state.field_hint(f.name),
            choices: f
                .choices
                .iter()
                .map(|c| ChoiceJson {
                    label: state.choice_label(f.name, c),
                    value: c.clone(),
                })
                .collect(),
        })
        .collect();
    let l = &state.limits;
    HttpResponse::Ok().json(QuestionnaireJson {
        version: q.version(),
        language: t.lang().to_owned(),
        fields,
        limits: LimitsJson {
            max_file_bytes: l.max_file_bytes,
            max_report_bytes: l.max_report_bytes,
            max_files: l.max_files,
        },
    })
}

/// `GET /api/v1/openapi.json`: built for each request from the questionnaire and limits
/// in force (a few kilobytes of JSON; cheaper than keeping a copy that could go stale).
pub async fn openapi(state: web::Data<IntakeState>) -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document(&state))
}
