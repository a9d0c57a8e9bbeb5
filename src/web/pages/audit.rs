//! Dziennik: who did what, when, on which order or card.

use crate::web::auth::Page;
use crate::web::{layout, polish, App, Refusal};
use axum::extract::{Query, State};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    kto: String,
    /// Which page of the log, from 1 (the newest).
    #[serde(default)]
    strona: Option<i64>,
}

/// Entries a page: the log grows by every login and change for years.
const PER_PAGE: i64 = 200;

/// The action's name in Polish.
fn action(a: &str) -> &str {
    match a {
        "login" => "logowanie",
        "login.refused" => "nieudane logowanie",
        "logout" => "wylogowanie",
        "batch.start" => "uruchomienie partii",
        "batch.paused" | "batch.pause" => "wstrzymanie partii",
        "batch.running" | "batch.resume" => "wznowienie partii",
        "batch.cancelled" | "batch.cancel" => "anulowanie partii",
        "blanks.receive" => "przyjęcie dostawy druków",
        "blanks.load" => "załadowanie druków",
        "blanks.unload" => "wyjęcie druków z drukarki",
        "blanks.destroy" => "zniszczenie druku",
        "blanks.return" => "zwrot druku dostawcy",
        "blanks.void" => "korekta: druki zapisane błędnie",
        "holograms.receive" => "przyjęcie dostawy hologramów",
        "holograms.void" => "korekta: hologramy zapisane błędnie",
        "hologram.spoil" => "zepsuty hologram",
        "hologram.apply_many" => "hologramy dla klasy lub stosu",
        "hold.potwierdz" => "karta dobra: wpis do rejestru",
        "hold.ponow" => "ponowny druk",
        "hold.zepsuty" => "druk zepsuty, ponowny druk",
        "hologram.apply" => "naklejenie hologramu",
        "hologram.apply_class" => "hologramy dla klasy",
        "report.download" => "pobranie raportu",
        "user.add" => "nowe konto",
        "user.disable" => "wyłączenie konta",
        "user.passwd" => "zmiana hasła",
        "user.token" => "nowy token API",
        "card.return" => "zwrot legitymacji",
        "printer.test_card" => "karta testowa",
        "release" => "zwolnienie karty",
        "confirm" => "potwierdzenie karty",
        other => other,
    }
}

pub async fn page(
    State(app): State<App>,
    p: Page,
    Query(f): Query<Filter>,
) -> Result<Markup, Refusal> {
    let who = Some(f.kto.trim()).filter(|s| !s.is_empty());
    let page = f.strona.unwrap_or(1).max(1);
    let entries = app
        .store
        .audit_page(who, PER_PAGE, (page - 1) * PER_PAGE)
        .await?;
    let link = |n: i64| {
        let kto: String = url::form_urlencoded::byte_serialize(f.kto.trim().as_bytes()).collect();
        format!("/dziennik?kto={kto}&strona={n}")
    };
    let body = html! {
        form.row method="get" action="/dziennik" {
            label for="kto" { "Osoba (login)" }
            input #kto name="kto" value=(f.kto);
            button type="submit" { "Pokaż" }
        }
        p.muted { "Strona " (page) ": " (entries.len()) " wpisów, najnowsze pierwsze." }
        table {
            thead { tr { th { "Kiedy" } th { "Kto" } th { "Skąd" } th { "Co" } th { "Czego dotyczy" } th { "Szczegóły" } } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (polish::when(&e.at)) }
                        td { (e.login) }
                        td { (match e.via.as_str() { "web" => "strona", "api" => "API", "cli" => "polecenie", o => o }) }
                        td { (action(&e.action)) }
                        td { (e.target.as_deref().unwrap_or("")) }
                        td { (e.detail.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        p.row {
            @if page > 1 { a href=(link(page - 1)) { "← Nowsze" } }
            @if entries.len() as i64 == PER_PAGE { a href=(link(page + 1)) { "Starsze →" } }
        }
    };
    Ok(layout::page(&p, "/dziennik", "Dziennik", body))
}
