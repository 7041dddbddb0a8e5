use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use redress_web::Messages;

use crate::IntakeState;

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
}

/// `GET /`: what this service is, who runs it, what happens to a report, how to stay safe.
pub async fn index(state: web::Data<IntakeState>) -> IndexPage {
    let t = state.messages.clone();
    IndexPage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("index.title").into_owned(),
        t,
    }
}
