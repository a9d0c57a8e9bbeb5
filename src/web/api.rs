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

async fn me(ApiUser(u): ApiUser) -> Answer {
    Ok(Json(u).into_response())
}

async fn state(State(app): State<App>, _u: ApiUser) -> Answer {
    let v: Value = app.state_json();
    Ok(Json(v).into_response())
}

async fn orders(State(app): State<App>, _u: ApiUser) -> Answer {
    Ok(Json(
        app.store
            .order_lines(&["queued", "printing", "held"])
            .await?,
    )
    .into_response())
}

#[derive(Deserialize)]
struct CardQuery {
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    class: Option<String>,
}

async fn cards(State(app): State<App>, _u: ApiUser, Query(q): Query<CardQuery>) -> Answer {
    let entries = app
        .store
        .register_entries(&RegisterFilter {
            year: q.year,
            class: q.class,
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
    Ok(Json(out).into_response())
}

async fn batches(State(app): State<App>, _u: ApiUser) -> Answer {
    let out: Vec<Value> = app
        .store
        .batches()
        .await?
        .iter()
        .map(|b| {
            json!({
                "id": b.id, "operator": b.operator, "class": b.class, "pattern": b.pattern,
                "first_blank": b.first_blank, "status": b.status, "created_at": b.created_at,
                "cards": b.cards, "printed": b.printed_cards.len(), "waiting": b.waiting,
                "spoiled": b.spoiled.len(),
            })
        })
        .collect();
    Ok(Json(out).into_response())
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

async fn audit(State(app): State<App>, _u: ApiUser) -> Answer {
    Ok(Json(app.store.audit_entries(None, 1000).await?).into_response())
}
