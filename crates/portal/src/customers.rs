//! The customer register (ADR 0025): the vendor's customers, their status and its
//! history. Everyone signed in reads it (`/customers`); admins add and edit customers
//! and change a status by hand on pages of their own (`/admin/customers`), since a
//! route has one access rule. A concluded case acts on the customer it names through
//! [`named_in_conclusion`] and [`act_on_customer`], in the step's own transaction.
//! Every change is audited with it. A change's case reference is shown only to those
//! who may see that case ([`access::may_see_case`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{
    AuditAction, CustomerDetails, CustomerError, CustomerId, CustomerStatus, EntryText, Outcome, Role,
};
use redress_store::{Audited, Customer, NewCustomerChange, StoreError, StoredCase};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{self, Viewer, see_other};
use crate::forms::{self, Answer, Failure, answer, kept_value};
use crate::layout::{Chrome, day, moment, page};

/// A customer as the pages show it.
#[derive(Debug)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub products: String,
    pub status: String,
    pub since: String,
}

/// One change of a customer's status, as its page shows it.
#[derive(Debug)]
pub struct ChangeRow {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub at: String,
    pub by: String,
    /// What was behind it: "by hand", "a case", or a case the viewer may see.
    pub behind: Behind,
}

/// What made a change, as far as the viewer may know.
#[derive(Debug)]
pub enum Behind {
    Hand,
    /// A case the viewer may not see (or that is gone).
    SomeCase,
    Case(String),
}

/// A status to choose, and whether it is chosen.
#[derive(Debug)]
pub struct StatusChoice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// What the admin forms hold: as typed, or as stored.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CustomerForm {
    pub action: String,
    pub name: String,
    pub country: String,
    pub products: String,
    pub status: String,
    pub reason: String,
}

impl CustomerForm {
    fn of(c: &Customer) -> Self {
        Self {
            name: c.name.clone(),
            country: c.country.clone(),
            products: c.products.clone(),
            ..Self::default()
        }
    }

    /// What was kept of a form posted after its session ended, else `self`.
    fn or_kept(self, kept: &[(String, String)]) -> Self {
        let keep = |name: &str, or: String| kept_value(kept, name).unwrap_or(or);
        Self {
            action: keep("action", self.action),
            name: keep("name", self.name),
            country: keep("country", self.country),
            products: keep("products", self.products),
            status: keep("status", self.status),
            reason: keep("reason", self.reason),
        }
    }
}

page!(CustomersPage {
    customers: Vec<CustomerRow>,
    is_admin: bool,
}, "customers.html");

page!(CustomerPage {
    customer: CustomerRow,
    history: Vec<ChangeRow>,
    is_admin: bool,
    notice: Option<String>,
}, "customer.html");

page!(CustomerAdminPage {
    /// `None` on the page that adds one.
    customer: Option<CustomerRow>,
    form: CustomerForm,
    statuses: Vec<StatusChoice>,
    errors: Vec<String>,
}, "customer_admin.html");

fn status_label(state: &PortalState, s: CustomerStatus) -> String {
    state.messages.get(&format!("customer_status.{s}")).into_owned()
}

fn row(state: &PortalState, c: &Customer) -> CustomerRow {
    CustomerRow {
        id: c.id.to_string(),
        name: c.name.clone(),
        country: c.country.clone(),
        products: c.products.clone(),
        status: status_label(state, c.status),
        since: day(c.created_at),
    }
}

/// The customer a path names, if it is in the register.
async fn customer_of(state: &PortalState, id: &str) -> Result<Option<Customer>, Failure> {
    Ok(match CustomerId::parse(id) {
        Some(id) => state.store.customer(id).await?,
        None => None,
    })
}

/// `GET /customers`: the register.
pub async fn list(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, list_inner(&req, &state, &viewer).await)
}

async fn list_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let customers = state.store.customers().await?;
    let page = CustomersPage {
        chrome: Chrome::new(state, req, Some(viewer), "customers.title"),
        customers: customers.iter().map(|c| row(state, c)).collect(),
        is_admin: viewer.role() == Role::Admin,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

/// What a `done` query may name after a change.
const DONE: &[&str] = &["add", "edit", "status"];

/// `GET /customers/{customer}`: a customer and the history of its status.
pub async fn show(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer, &id).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, id: &str) -> Answer {
    let Some(customer) = customer_of(state, id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let emails = state.store.account_emails().await?;
    let mut history = Vec::new();
    for change in state.store.customer_changes(customer.id).await? {
        let behind = match change.case {
            None => Behind::Hand,
            Some(case) => match state.store.case_by_id(case).await? {
                Some(case) if sees(state, viewer, &case).await? => Behind::Case(case.case_ref.to_string()),
                _ => Behind::SomeCase,
            },
        };
        history.push(ChangeRow {
            from: status_label(state, change.from),
            to: status_label(state, change.to),
            reason: change.reason,
            at: moment(change.at),
            by: emails
                .get(&change.actor)
                .cloned()
                .unwrap_or_else(|| change.actor.to_string()),
            behind,
        });
    }
    let notice = crate::login::query(req, "done")
        .filter(|d| DONE.contains(&d.as_str()))
        .map(|d| state.messages.get(&format!("customer.done_{d}")).into_owned());
    let page = CustomerPage {
        chrome: Chrome::new(state, req, Some(viewer), "customer.title"),
        customer: row(state, &customer),
        history,
        is_admin: viewer.role() == Role::Admin,
        notice,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

/// Whether the viewer may see `case`: the rule of the case's own page.
async fn sees(state: &PortalState, viewer: &Viewer, case: &StoredCase) -> Result<bool, StoreError> {
    let assigned = match viewer.account.investigator_id {
        Some(inv) => state.store.is_assigned(case.id, inv).await?,
        None => false,
    };
    Ok(access::may_see_case(viewer, assigned))
}

/// `GET /admin/customers`: the form that adds a customer.
pub async fn new_form(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    let (kept, forget) = forms::take_kept(&state, &req, req.path()).await;
    let form = CustomerForm::default().or_kept(&kept);
    answer(
        &state,
        admin_page(
            &req,
            &state,
            &viewer,
            None,
            form,
            Vec::new(),
            StatusCode::OK,
            forget,
        )
        .await,
    )
}

/// `GET /admin/customers/{customer}`: the forms that edit a customer and change its
/// status.
pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> HttpResponse {
    answer(&state, edit_form_inner(&req, &state, &viewer, &id).await)
}

async fn edit_form_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, id: &str) -> Answer {
    let Some(customer) = customer_of(state, id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let (kept, forget) = forms::take_kept(state, req, req.path()).await;
    let form = CustomerForm::of(&customer).or_kept(&kept);
    admin_page(
        req,
        state,
        viewer,
        Some(&customer),
        form,
        Vec::new(),
        StatusCode::OK,
        forget,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn admin_page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    customer: Option<&Customer>,
    form: CustomerForm,
    errors: Vec<String>,
    status: StatusCode,
    forget: Option<actix_web::cookie::Cookie<'static>>,
) -> Answer {
    let title = match customer {
        Some(_) => "customer_admin.edit_title",
        None => "customer_admin.new_title",
    };
    let mut chrome = Chrome::new(state, req, Some(viewer), title);
    chrome.with_cookie(forget);
    let statuses = CustomerStatus::ALL
        .iter()
        .filter(|s| customer.is_none_or(|c| c.status != **s))
        .map(|s| StatusChoice {
            value: s.as_str(),
            label: status_label(state, *s),
            selected: s.as_str() == form.status,
        })
        .collect();
    let page = CustomerAdminPage {
        chrome,
        customer: customer.map(|c| row(state, c)),
        form,
        statuses,
        errors,
    };
    Ok(page.chrome.respond(status, &page))
}

/// The message for details that do not parse.
fn details_error(state: &PortalState, e: CustomerError) -> String {
    let t = &state.messages;
    match e {
        CustomerError::NoName => t.get("customer_admin.no_name").into_owned(),
        CustomerError::TooLong(f) => t.fill(
            "customer_admin.too_long",
            &[("field", &t.get(&format!("customers.{f}")))],
        ),
        CustomerError::Hidden(f) => t.fill(
            "customer_admin.hidden",
            &[("field", &t.get(&format!("customers.{f}")))],
        ),
    }
}

/// `POST /admin/customers`: adds a customer, active.
pub async fn add(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, add_inner(&req, &state, &viewer, &body).await)
}

async fn add_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<CustomerForm>(state, req, body, req.path()) {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let refuse = |message: String, form: CustomerForm| async move {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        admin_page(req, state, viewer, None, form, vec![message], status, None).await
    };
    let details = match CustomerDetails::parse(&form.name, &form.country, &form.products) {
        Ok(d) => d,
        Err(e) => return refuse(details_error(state, e), form).await,
    };
    let id = CustomerId::random();
    let now = state.now();
    let tx = state.store.begin_audited().await?;
    match tx.add_customer(id, &details, now).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            drop(tx);
            return refuse(state.messages.get("customer_admin.name_taken").into_owned(), form).await;
        }
        Err(e) => return Err(e.into()),
    }
    crate::cases::audit_in(&tx, viewer, AuditAction::CustomerAdd, &target(id), now).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/customers/{id}?done=add")))
}

/// How the audit log names a customer.
fn target(id: CustomerId) -> String {
    format!("customer:{id}")
}

/// `POST /admin/customers/{customer}`: edits its details, or changes its status by
/// hand with a reason.
pub async fn change(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, change_inner(&req, &state, &viewer, &id, &body).await)
}

async fn change_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    id: &str,
    body: &[u8],
) -> Answer {
    let form = match forms::posted::<CustomerForm>(state, req, body, req.path()) {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let Some(customer) = customer_of(state, id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let t = &state.messages;
    let shown = &customer;
    let refuse = |message: String, form: CustomerForm| async move {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        admin_page(req, state, viewer, Some(shown), form, vec![message], status, None).await
    };
    let now = state.now();
    match form.action.as_str() {
        "edit" => {
            let details = match CustomerDetails::parse(&form.name, &form.country, &form.products) {
                Ok(d) => d,
                Err(e) => return refuse(details_error(state, e), form).await,
            };
            let tx = state.store.begin_audited().await?;
            match tx.edit_customer(customer.id, &details).await {
                Ok(true) => {}
                Ok(false) => return Err(Failure::Internal("a customer left the register")),
                Err(StoreError::Duplicate(_)) => {
                    drop(tx);
                    return refuse(t.get("customer_admin.name_taken").into_owned(), form).await;
                }
                Err(e) => return Err(e.into()),
            }
            crate::cases::audit_in(&tx, viewer, AuditAction::CustomerEdit, &target(customer.id), now).await?;
            tx.commit().await?;
        }
        "status" => {
            let Some(to) = CustomerStatus::parse(&form.status) else {
                return refuse(t.get("customer_admin.choose_status").into_owned(), form).await;
            };
            if to == customer.status {
                return refuse(t.get("customer_admin.same_status").into_owned(), form).await;
            }
            let reason = match EntryText::parse(&form.reason) {
                Ok(r) => r,
                Err(e) => {
                    let message = t.fill("customer_admin.bad_reason", &[("why", &e.to_string())]);
                    return refuse(message, form).await;
                }
            };
            let change = NewCustomerChange {
                customer: customer.id,
                to,
                reason: reason.into_string(),
                at: now,
                actor: viewer.id(),
                case: None,
            };
            let tx = state.store.begin_audited().await?;
            tx.change_customer_status(&change)
                .await?
                .ok_or(Failure::Internal("a customer left the register"))?;
            crate::cases::audit_in(
                &tx,
                viewer,
                AuditAction::CustomerStatus,
                &target(customer.id),
                now,
            )
            .await?;
            tx.commit().await?;
        }
        _ => return refuse(t.get("customer_admin.unknown_action").into_owned(), form).await,
    }
    Ok(see_other(&format!(
        "/customers/{}?done={}",
        customer.id, form.action
    )))
}

/// The customer a conclusion names, and, for an outcome that acts on it, the status it
/// gets and why: checked before anything is written.
#[derive(Debug)]
pub(crate) struct Named {
    pub customer: CustomerId,
    pub action: Option<(CustomerStatus, EntryText)>,
}

/// What a conclusion's form says of the customer: none named (the empty choice), or
/// one of the register; an outcome that acts on a customer must name one and give a
/// reason. Otherwise the message to refuse the form with.
pub(crate) async fn named_in_conclusion(
    state: &PortalState,
    outcome: Outcome,
    customer: &str,
    reason: &str,
) -> Result<Result<Option<Named>, String>, Failure> {
    let t = &state.messages;
    let customer = match customer.trim() {
        "" => None,
        typed => match customer_of(state, typed).await? {
            Some(c) => Some(c.id),
            None => return Ok(Err(t.get("steps.unknown_customer").into_owned())),
        },
    };
    let Some(to) = CustomerStatus::after(outcome) else {
        return Ok(Ok(customer.map(|customer| Named {
            customer,
            action: None,
        })));
    };
    let Some(customer) = customer else {
        return Ok(Err(t.get("steps.choose_customer").into_owned()));
    };
    Ok(match EntryText::parse(reason) {
        Ok(reason) => Ok(Some(Named {
            customer,
            action: Some((to, reason)),
        })),
        Err(e) => Err(t.fill("steps.customer_reason_missing", &[("why", &e.to_string())])),
    })
}

/// For an outcome that acts on the customer named: gives it its status, records the
/// change with the case, and audits it, in the step's transaction.
pub(crate) async fn act_on_customer(
    tx: &Audited,
    viewer: &Viewer,
    case: &StoredCase,
    named: &Named,
    at: i64,
) -> Result<(), Failure> {
    let Some((to, reason)) = &named.action else {
        return Ok(());
    };
    let change = NewCustomerChange {
        customer: named.customer,
        to: *to,
        reason: reason.clone().into_string(),
        at,
        actor: viewer.id(),
        case: Some(case.id),
    };
    tx.change_customer_status(&change)
        .await?
        .ok_or(Failure::Internal("a customer left the register"))?;
    let target = format!("{}/case:{}", target(named.customer), case.case_ref);
    crate::cases::audit_in(tx, viewer, AuditAction::CustomerAction, &target, at).await
}

/// A customer of the register to choose on the conclusion's form.
#[derive(Debug)]
pub struct CustomerChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The register as the conclusion's form offers it, with `chosen` selected.
pub(crate) async fn choices(state: &PortalState, chosen: &str) -> Result<Vec<CustomerChoice>, Failure> {
    Ok(state
        .store
        .customers()
        .await?
        .into_iter()
        .map(|c| {
            let value = c.id.to_string();
            CustomerChoice {
                selected: value == chosen,
                label: if c.country.is_empty() {
                    c.name
                } else {
                    format!("{} ({})", c.name, c.country)
                },
                value,
            }
        })
        .collect())
}

/// The customer a case's last finding names, for its assignees: name and page.
#[derive(Debug)]
pub struct Concerns {
    pub id: String,
    pub name: String,
}

pub(crate) async fn concerns(state: &PortalState, id: CustomerId) -> Result<Option<Concerns>, Failure> {
    Ok(state.store.customer(id).await?.map(|c| Concerns {
        id: c.id.to_string(),
        name: c.name,
    }))
}
