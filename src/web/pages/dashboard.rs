//! Pulpit: the printer, the queue, the stock, the card printing now; live.

use crate::web::auth::Page;
use crate::web::{layout, polish, App, Refusal};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{Stream, StreamExt};
use maud::{html, Markup};
use serde_json::Value;
use std::convert::Infallible;

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    let live = live_panel(&app).await?;
    Ok(layout::page(
        &p,
        "/",
        "Pulpit",
        html! {
            div #live aria-live="polite" { (live) }
        },
    ))
}

async fn live_panel(app: &App) -> Result<Markup, Refusal> {
    let state: Value = app.state_json();
    let printing = app.store.order_lines(&["printing"]).await?;
    let holograms = app.store.hologram_stock().await?;
    let blanks = app.store.blank_stock().await?;
    let waiting_for_blanks = app.store.patterns_waiting_for_blanks().await?;
    let backup = app.store.last_backup().await?;
    let backups_on = app.settings.backup.dir.is_some();
    let (_, removed) = app.store.last_retention_runs().await?;
    let retention = &app.settings.retention;
    let unsigned = app.settings.central_keys.is_empty();
    let printer = &state["printer"];
    let word = printer["state"].as_str().unwrap_or("offline");
    let (_, kind) = polish::badge(&state);
    let detail = printer["detail"].as_str();
    let queue = &state["queue"];
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let warn_below = app.settings.blanks.warn_below;
    Ok(html! {
        div.grid {
            section.panel aria-labelledby="h-printer" {
                h2 #h-printer { "Drukarka" }
                p { span.state.(kind) #printer-state { (polish::printer_state(word)) } }
                @if let Some(d) = detail {
                    p.advice role="alert" { (polish::cause(d)) }
                }
                dl.facts {
                    dt { "Model" } dd { (printer["model"].as_str().unwrap_or("—")) }
                    dt { "Numer seryjny" } dd { (printer["serial"].as_str().unwrap_or("—")) }
                    dt { "Taśma" } dd {
                        (printer["ribbon"]["type"].as_str().unwrap_or("—"))
                        @if let Some(left) = printer["ribbon"]["remaining"].as_i64() {
                            ", zostało " (left) " kart"
                        }
                    }
                    dt { "Podajnik" } dd {
                        (match printer["feeder"].as_str() { Some("empty") => "pusty", Some("ok") => "blankiety są", _ => "—" })
                    }
                }
            }
            section.panel aria-labelledby="h-now" {
                h2 #h-now { "Teraz drukuje" }
                @if printing.is_empty() {
                    p.muted { "Nic się nie drukuje." }
                }
                @for o in &printing {
                    p.big { (o.card_number) }
                    p { (o.last_name) " " (o.first_names) @if let Some(c) = &o.class { " · klasa " (c) } }
                }
            }
            section.panel aria-labelledby="h-queue" {
                h2 #h-queue { "Kolejka" }
                dl.facts {
                    dt { "Czeka na druk" } dd #queue-pending { (n(&queue["pending"])) }
                    dt { "Drukuje się" } dd { (n(&queue["printing"])) }
                    dt { "Do sprawdzenia" } dd #queue-held {
                        @if n(&queue["held"]) > 0 { a href="/sprawdzenie" { (n(&queue["held"])) } } @else { "0" }
                    }
                }
                @for pt in &waiting_for_blanks {
                    p.advice role="alert" { "Czeka na druki " (pt) ": włóż stos do podajnika i " a href="/druki" { "zapisz załadowanie" } "." }
                }
                p { a href="/kolejka" { "Przejdź do kolejki" } }
            }
            section.panel aria-labelledby="h-stock" {
                h2 #h-stock { "Druki i hologramy" }
                dl.facts {
                    dt { "Druki w drukarce" } dd { (n(&state["blanks"]["loaded"])) }
                    @for b in &blanks {
                        dt { "Druki " (b.pattern) " w magazynie" }
                        dd { (b.in_stock) @if b.in_stock + b.loaded < warn_below { " " span.state.warn { "mało" } } }
                    }
                    @if blanks.is_empty() { dt { "Druki w magazynie" } dd { "nie przyjęto" } }
                    @for h in &holograms {
                        dt { "Hologramy " (h.school_year) } dd { (h.in_stock) " w magazynie" }
                    }
                    @if holograms.is_empty() { dt { "Hologramy" } dd { "nie przyjęto" } }
                }
            }
            section.panel aria-labelledby="h-backup" {
                h2 #h-backup { "Kopia zapasowa rejestru" }
                @match &backup {
                    Some(b) if !b.ok => {
                        p #backup-state { span.state.err { "nieudana" } " " (polish::when(&b.at)) }
                        p.advice role="alert" { "Rejestr nie ma świeżej kopii. Informatyk sprawdza: " code { "journalctl -u legitka-backup" } "." }
                        p.muted { "Przyczyna: " (b.message) }
                    }
                    Some(b) => {
                        p #backup-state { span.state.ok { "zrobiona" } " " (polish::when(&b.at)) }
                        @if let Some(bytes) = b.bytes { p.muted { (format!("{:.1}", bytes as f64 / 1e6).replace('.', ",")) " MB, sprawdzona" } }
                    }
                    None => { p #backup-state { span.state.warn { "jeszcze nie zrobiona" } } }
                }
                @if !backups_on {
                    p.advice { "Codzienna kopia jest wyłączona: administrator wpisuje katalog w [backup] dir pliku konfiguracji." }
                }
            }
            section.panel aria-labelledby="h-data" {
                h2 #h-data { "Dane uczniów" }
                @if unsigned && !app.settings.require_signed {
                    p.advice role="alert" #unsigned {
                        "Zamówienia bez podpisu są przyjmowane: kartę może zamówić każdy, kto może pisać do brokera MQTT. "
                        "Administrator wpisuje klucz publiczny systemu centralnego w [central_keys] i ustawia require_signed = true."
                    }
                } @else if unsigned {
                    p.advice role="alert" #unsigned {
                        "Stacja przyjmuje tylko podpisane zamówienia, a nie ma klucza systemu centralnego: żadne zamówienie nie zostanie przyjęte, dopóki administrator nie wpisze go w [central_keys]."
                    }
                }
                p #retention {
                    "Zamówienie niewydrukowane w ciągu " (retention.order_days) " dni jest usuwane (zdjęcie, PESEL, dane), a system centralny dostaje o tym informację. "
                    "Dziennik zdarzeń i wysłane komunikaty są usuwane po " (retention.audit_months) " miesiącach. Rejestr wydanych legitymacji jest przechowywany bez limitu."
                }
                @if let Some(r) = &removed {
                    p.muted #retention-last {
                        "Ostatnio usunięto " (polish::when(&r.at)) ": zamówień " (r.orders_expired)
                        ", wpisów dziennika " (r.audit_deleted) ", komunikatów " (r.outbox_deleted) "."
                    }
                }
            }
        }
    })
}

/// How often a live stream asks whether its session still lives.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Server-sent events: the dashboard's panel and the header's badge, each
/// time the station's state changes (and every 15 s, for the counts).
///
/// The stream lives no longer than its session: logging out, a disabled
/// account, a new password or an idle or old session ends it within
/// [`SESSION_CHECK`], and nothing is sent once the session is gone.
pub async fn live(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    p: Result<Page, Refusal>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, axum::http::StatusCode> {
    // A stream is not a page: without a session it is 401, not a redirect.
    p.map_err(|_| axum::http::StatusCode::UNAUTHORIZED)?;
    let token = crate::web::auth::session_token(&headers).unwrap_or_default();
    let ended = {
        let (app, token) = (app.clone(), token.clone());
        async move {
            loop {
                tokio::time::sleep(SESSION_CHECK).await;
                if !crate::web::auth::session_is_live(&app, &token).await {
                    return;
                }
            }
        }
    };
    let changes = tokio_stream::wrappers::WatchStream::new(app.state.clone());
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
        std::time::Duration::from_secs(15),
    ));
    let stop = app.0.stopping.clone();
    let wake = futures_util::stream::select(changes.map(|_| ()), ticks.map(|_| ()));
    let events = wake
        .then(move |_| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                if !crate::web::auth::session_is_live(&app, &token).await {
                    return futures_util::stream::iter(Vec::new().into_iter().map(Ok));
                }
                let state: Value = app.state_json();
                let (text, kind) = polish::badge(&state);
                let mut out = vec![Event::default()
                    .event("badge")
                    .data(serde_json::json!({"text": text, "kind": kind}).to_string())];
                match live_panel(&app).await {
                    Ok(m) => out.push(Event::default().event("pulpit").data(m.into_string())),
                    Err(e) => tracing::warn!(?e, "live dashboard"),
                }
                futures_util::stream::iter(out.into_iter().map(Ok))
            }
        })
        .flatten()
        .take_until(async move {
            let mut stop = stop;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => {}
                _ = ended => {}
            }
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
