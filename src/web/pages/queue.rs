//! Kolejka: waiting orders by class, batches on numbered blanks.

use crate::records::store::{span, BatchRequest, BatchSummary, OrderLine, NO_BLANKS, RESTORED};
use crate::web::auth::{Change, Page};
use crate::web::{layout, polish, App, Refusal};
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A class, how many of its orders wait, and those listed.
type Group<'a> = (String, i64, Vec<&'a OrderLine>);

/// Waiting orders by class in Polish order (no class last), each class's
/// pupils in Polish alphabetical order (Ł after L, Ż last), as a class
/// list is read. Every class counted is there; its pupils where listed.
fn by_class<'a>(counts: &[(String, i64)], listed: &'a [OrderLine]) -> Vec<Group<'a>> {
    let key = |c: &str| {
        (
            c.is_empty(),
            crate::records::report::catalogue::polish_key(c),
        )
    };
    let mut groups: BTreeMap<(bool, Vec<u32>), Group<'a>> = counts
        .iter()
        .map(|(c, n)| (key(c), (c.clone(), *n, Vec::new())))
        .collect();
    for o in listed {
        let c = o.class.clone().unwrap_or_default();
        groups
            .entry(key(&c))
            .or_insert_with(|| (c.clone(), 0, Vec::new()))
            .2
            .push(o);
    }
    let mut out: Vec<Group<'a>> = groups.into_values().collect();
    for (_, _, os) in &mut out {
        os.sort_by_cached_key(|o| {
            crate::records::report::catalogue::polish_key(&format!(
                "{} {}",
                o.last_name, o.first_names
            ))
        });
    }
    out
}

/// Above this many waiting orders the page lists classes, and a class's
/// pupils when it is asked for: a school's September is thousands.
const LISTED: usize = 300;

#[derive(Deserialize, Default)]
pub struct Show {
    /// The class whose waiting pupils are listed.
    #[serde(default)]
    klasa: Option<String>,
}

pub async fn page(
    State(app): State<App>,
    p: Page,
    axum::extract::Query(show): axum::extract::Query<Show>,
) -> Result<Markup, Refusal> {
    // Counted in the database; the pupils read only where they are listed.
    let (counts, in_batch_total) = app.store.queued_counts().await?;
    let waiting_total: i64 = counts.iter().map(|(_, n)| n).sum();
    let all_listed = waiting_total <= LISTED as i64;
    let waiting = match (all_listed, show.klasa.as_deref()) {
        (true, _) => app.store.queued_lines(false, None, -1).await?,
        (false, Some(c)) => app.store.queued_lines(false, Some(c), -1).await?,
        (false, None) => Vec::new(),
    };
    let in_batch = app.store.queued_lines(true, None, LISTED as i64).await?;
    let batches: Vec<BatchSummary> = app.store.batch_summaries(true, 100, 0).await?;
    let groups = by_class(&counts, &waiting);
    let shown = |c: &str| all_listed || show.klasa.as_deref() == Some(c);
    let mode_batch = app.store.mode() == crate::records::store::QueueMode::Batch;
    let short = app.store.patterns_waiting_for_blanks().await?;
    let body = html! {
        @for pt in &short {
            p.panel.advice role="alert" { "Karty na druku " (pt) " czekają: w drukarce nie ma zapisanych druków tego wzoru. Włóż stos do podajnika i " a href="/druki" { "zapisz załadowanie" } "." }
        }
        p.muted {
            @if mode_batch {
                "Tryb partii: zamówienia czekają, aż operator uruchomi partię na ponumerowanych drukach."
            } @else {
                "Tryb automatyczny: każde przyjęte zamówienie drukuje się od razu. Partie na ponumerowanych drukach można uruchamiać także tutaj."
            }
        }
        section.panel aria-labelledby="h-batches" {
            h2 #h-batches { "Partie w toku" }
            @if batches.is_empty() { p.muted { "Żadna partia nie jest w toku." } }
            @else {
                table {
                    thead { tr { th { "Partia" } th { "Klasa" } th { "Operator" } th { "Druki od nr" } th.num { "Wydrukowano" } th.num { "Czeka" } th { "Stan" } th { "Działania" } } }
                    tbody {
                        @for b in &batches {
                            tr {
                                td { (b.id) }
                                td { (b.class.as_deref().unwrap_or("—")) }
                                td { (b.operator) }
                                td { (b.pattern) " " (b.first_blank) }
                                td.num { (b.printed) " z " (b.cards) }
                                td.num { (b.waiting) }
                                td {
                                    (polish::batch_status(&b.status))
                                    @if b.paused_reason.as_deref() == Some(NO_BLANKS) {
                                        br; span.advice { "Brak załadowanych druków: włóż kolejne do podajnika i zapisz je (Druki → Załaduj); partia ruszy sama." }
                                    }
                                    @if b.paused_reason.as_deref() == Some(RESTORED) {
                                        br; span.advice { "Rejestr odtworzono z kopii: porównaj druki w podajniku i karty wydrukowane po kopii z rejestrem (Druki), potem wznów." }
                                    }
                                }
                                td.actions {
                                    @if p.may_change() {
                                        @if b.status == "running" { (batch_button(&p, &b.id, "wstrzymaj", "Wstrzymaj", false)) }
                                        @if b.status == "paused" { (batch_button(&p, &b.id, "wznow", "Wznów", false)) }
                                        (batch_button(&p, &b.id, "anuluj", "Anuluj", true))
                                    }
                                    a href={ "/raporty/pobierz?rodzaj=partia&partia=" (b.id) "&format=pdf" } { "Protokół" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel aria-labelledby="h-waiting" {
            h2 #h-waiting { "Czekają na druk (" (waiting_total) ")" }
            @if waiting_total == 0 { p.muted { "Nie ma zamówień poza partiami." } }
            @else {
                form method="post" action="/kolejka/partia" {
                    (layout::csrf(&p))
                    @if p.may_change() {
                        div.row.actions {
                            label for="first_blank" { "Numer pierwszego druku w podajniku" }
                            input #first_blank name="first_blank" required inputmode="numeric" autocomplete="off" placeholder="np. 000101";
                            label for="class" { "Klasa" }
                            select #class name="class" {
                                option value="" { "— zaznaczone poniżej —" }
                                @for (c, n, _) in &groups { @if !c.is_empty() { option value=(c) { (c) " (" (n) ")" } } }
                            }
                            button.primary type="submit" { "Uruchom partię" }
                        }
                        p.muted { "Wybierz klasę albo zaznacz zamówienia. Do partii trafia tyle kolejnych druków, ile kart." }
                    }
                    table {
                        thead { tr { th { span.muted { "✓" } } th { "Nazwisko i imiona" } th { "Nr legitymacji" } th { "Rodzaj" } th { "Przyjęte" } } }
                        @for (c, n, os) in &groups {
                            tbody {
                                tr.group {
                                    th colspan="5" {
                                        @if p.may_change() && !c.is_empty() {
                                            label { input type="checkbox" data-tick-class=(c) aria-label={ "Zaznacz całą klasę " (c) }; " " }
                                        }
                                        @if c.is_empty() { "Bez klasy" } @else { "Klasa " (c) }
                                        " · " (n)
                                    }
                                }
                                @if !shown(c) {
                                    tr { td colspan="5" { a href={ "/kolejka?klasa=" (enc(c)) "#h-waiting" } { "Pokaż uczniów klasy " (c) } } }
                                }
                                @for o in os {
                                    tr {
                                        td { @if p.may_change() { input type="checkbox" name="order" value=(o.order_id) data-class=(c) aria-label={ "Zaznacz " (o.last_name) " " (o.first_names) }; } }
                                        td { (o.last_name) " " (o.first_names) }
                                        td { (o.card_number) }
                                        td { (polish::reason(&o.reason)) }
                                        td { (polish::when(&o.received_at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if in_batch_total > 0 {
            section.panel aria-labelledby="h-inbatch" {
                h2 #h-inbatch { "W partiach (" (in_batch_total) ")" }
                table {
                    thead { tr { th { "Partia" } th { "Nazwisko i imiona" } th { "Klasa" } th { "Nr legitymacji" } } }
                    tbody {
                        @for o in &in_batch {
                            tr { td { (o.batch_id.as_deref().unwrap_or("")) } td { (o.last_name) " " (o.first_names) } td { (o.class.as_deref().unwrap_or("")) } td { (o.card_number) } }
                        }
                    }
                }
                @if in_batch_total > LISTED as i64 { p.muted { "Pokazano pierwsze " (LISTED) ", w kolejności druku." } }
            }
        }
    };
    Ok(layout::page(&p, "/kolejka", "Kolejka", body))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn batch_button(p: &Page, id: &str, action: &str, label: &str, danger: bool) -> Markup {
    html! {
        form.inline method="post" action={ "/partie/" (id) "/" (action) } {
            (layout::csrf(p))
            button.danger[danger] type="submit" { (label) }
        }
    }
}

#[derive(Deserialize)]
pub struct StartForm {
    first_blank: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    order: Vec<String>,
}

pub async fn start_batch(
    State(app): State<App>,
    c: Change<StartForm>,
) -> Result<Response, Refusal> {
    let f = c.form;
    let class = Some(f.class.trim().to_string()).filter(|s| !s.is_empty());
    if class.is_none() && f.order.is_empty() {
        return Ok(layout::redirect(
            "/kolejka",
            false,
            "Wybierz klasę albo zaznacz zamówienia do partii.",
        ));
    }
    let r = BatchRequest {
        first_blank: f.first_blank.trim().to_string(),
        class: class.clone(),
        orders: f.order.clone(),
        limit: None,
    };
    match app.store.start_batch(&r, &c.page.actor()).await {
        Ok(b) => {
            app.queue_ready.notify_one();
            let kept = if b.kept.is_empty() {
                String::new()
            } else {
                format!(
                    " W podajniku były już druki {}: partia drukuje na nich najpierw.",
                    span(&b.kept)
                )
            };
            Ok(layout::redirect(
                "/kolejka",
                true,
                &format!(
                    "Partia {} uruchomiona: {} kart na drukach od nr {}.{kept}",
                    b.id, b.cards, r.first_blank
                ),
            ))
        }
        Err(e) => crate::web::refused("/kolejka", e),
    }
}

pub async fn batch_action(
    State(app): State<App>,
    Path((id, action)): Path<(String, String)>,
    c: Change<crate::web::auth::Empty>,
) -> Result<Response, Refusal> {
    let (to, done) = match action.as_str() {
        "wstrzymaj" => ("paused", "wstrzymana"),
        "wznow" => ("running", "wznowiona"),
        "anuluj" => (
            "cancelled",
            "anulowana; jej niewydrukowane zamówienia wróciły do kolejki",
        ),
        _ => return Err(Refusal::NotFound),
    };
    match app.store.set_batch_status(&id, to, &c.page.actor()).await {
        Ok(unloaded) => {
            app.queue_ready.notify_one();
            let take_out = match unloaded {
                Some(u) if !u.serials.is_empty() => format!(
                    " Wyjmij z podajnika niewykorzystane druki {} (wróciły do magazynu).",
                    span(&u.serials)
                ),
                _ => String::new(),
            };
            Ok(layout::redirect(
                "/kolejka",
                true,
                &format!("Partia {id} {done}.{take_out}"),
            ))
        }
        Err(e) => crate::web::refused("/kolejka", e),
    }
}
