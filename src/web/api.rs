//! `/api/v1/`: the page's data as JSON for a school's own scripts, with a
//! session or `Authorization: Bearer <token>` (`legitka user token`).
//! Read only. No PESEL and no photo is ever in an answer.

use super::auth::ApiUser;
use super::{App, Refusal};
use crate::records::store::RegisterFilter;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<App> {
    Router::new()
        .route("/state", get(state))
        .route("/orders", get(orders))
        .route("/cards", get(cards))
        .route("/batches", get(batches))
        .route("/holograms", get(holograms))
        .route("/blanks", get(blanks))
        .route("/audit", get(audit))
        .route("/me", get(me))
}

type Answer = Result<Response, Refusal>;

/// A page of a list: `?page=N` (from 1) and `?per_page=N` (at most 1,000,
/// 500 unless asked). A full page says where the next is, in a `Link`
/// header: a register of years is never one answer.
#[derive(Deserialize, Default, Clone, Copy)]
struct Paging {
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    per_page: Option<i64>,
}

impl Paging {
    fn limit(self) -> i64 {
        self.per_page.unwrap_or(500).clamp(1, 1000)
    }

    fn offset(self) -> i64 {
        (self.page.unwrap_or(1).max(1) - 1) * self.limit()
    }

    /// The JSON list, with the next page's link when this one is full.
    fn answer<T: serde::Serialize>(self, path: &str, items: Vec<T>) -> Response {
        let full = items.len() as i64 == self.limit();
        let mut r = Json(items).into_response();
        if full {
            let next = format!(
                "</api/v1/{path}?page={}&per_page={}>; rel=\"next\"",
                self.page.unwrap_or(1).max(1) + 1,
                self.limit()
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&next) {
                r.headers_mut().insert(axum::http::header::LINK, v);
            }
        }
        r
    }
}

async fn me(ApiUser(u): ApiUser) -> Answer {
    Ok(Json(u).into_response())
}

async fn state(State(app): State<App>, _u: ApiUser) -> Answer {
    let v: Value = app.state_json();
    Ok(Json(v).into_response())
}

async fn orders(State(app): State<App>, _u: ApiUser, Query(p): Query<Paging>) -> Answer {
    let page = app
        .store
        .order_lines_page(&["queued", "printing", "held"], p.limit(), p.offset())
        .await?;
    Ok(p.answer("orders", page))
}

#[derive(Deserialize)]
struct CardQuery {
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    class: Option<String>,
}

async fn cards(
    State(app): State<App>,
    _u: ApiUser,
    Query(q): Query<CardQuery>,
    Query(p): Query<Paging>,
) -> Answer {
    let entries = app
        .store
        .register_entries(&RegisterFilter {
            year: q.year,
            class: q.class,
            limit: Some(p.limit()),
            offset: p.offset(),
            ..RegisterFilter::default()
        })
        .await?;
    let out: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "card_number": e.card_number, "last_name": e.last_name,
                "first_names": e.first_names, "student_id": e.student_id, "class": e.class,
                "issued": e.issued, "reason": e.reason, "blank_serial": e.blank_serial,
                "printer": e.printer, "operator": e.operator, "batch_id": e.batch_id,
                "holograms": e.holograms, "superseded": e.superseded, "returned": e.returned,
            })
        })
        .collect();
    Ok(p.answer("cards", out))
}

/// Newest first.
async fn batches(State(app): State<App>, _u: ApiUser, Query(p): Query<Paging>) -> Answer {
    let page = app
        .store
        .batch_summaries(false, p.limit(), p.offset())
        .await?;
    Ok(p.answer("batches", page))
}

async fn holograms(State(app): State<App>, _u: ApiUser) -> Answer {
    let out: Vec<Value> = app
        .store
        .hologram_stock()
        .await?
        .iter()
        .map(|h| json!({"school_year": h.school_year, "received": h.received, "in_stock": h.in_stock, "applied": h.applied, "spoiled": h.spoiled}))
        .collect();
    Ok(Json(out).into_response())
}

async fn blanks(State(app): State<App>, _u: ApiUser) -> Answer {
    Ok(Json(app.store.blank_stock().await?).into_response())
}

/// Newest first.
async fn audit(State(app): State<App>, _u: ApiUser, Query(p): Query<Paging>) -> Answer {
    let page = app.store.audit_page(None, p.limit(), p.offset()).await?;
    Ok(p.answer("audit", page))
}
