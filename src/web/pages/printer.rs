//! Drukarka (administrators): the printer's status, counters and the
//! profile the station prints with.

use crate::web::auth::{admin_only, Change, Empty, Page};
use crate::web::{layout, polish, App, Refusal};
use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    admin_only(&p)?;
    let state: Value = app.state_json();
    let printer = &state["printer"];
    let (cards, spoiled) = app.store.totals().await?;
    let profile = app.renderer.printer();
    let s = &app.settings;
    let body = html! {
        div.grid {
            section.panel {
                h2 { "Stan" }
                dl.facts {
                    dt { "Stan" } dd { (polish::printer_state(printer["state"].as_str().unwrap_or("offline"))) }
                    @if let Some(d) = printer["detail"].as_str() { dt { "Przyczyna" } dd.advice { (polish::cause(d)) } }
                    dt { "Model" } dd { (printer["model"].as_str().unwrap_or("—")) }
                    dt { "Numer seryjny" } dd { (printer["serial"].as_str().unwrap_or("—")) }
                    dt { "Taśma" } dd { (printer["ribbon"]["type"].as_str().unwrap_or("—")) }
                    dt { "Zostało na taśmie" } dd { (printer["ribbon"]["remaining"].as_i64().map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                    dt { "Adres drukarki" } dd { code { (s.printer.uri) } }
                }
            }
            section.panel {
                h2 { "Karta testowa" }
                p { "Drukuje przykładową kartę (zdjęcie, napis KARTA TESTOWA) przed następną legitymacją. Nie trafia do rejestru." }
                p.muted { "Włóż do podajnika czystą kartę, nie ponumerowany druk: przy załadowanych drukach stacja odmówi." }
                form method="post" action="/drukarka/karta-testowa" {
                    (crate::web::layout::csrf(&p))
                    button.primary type="submit" { "Drukuj kartę testową" }
                }
            }
            section.panel {
                h2 { "Liczniki stacji" }
                dl.facts {
                    dt { "Wydrukowane legitymacje" } dd { (cards) }
                    dt { "Zepsute druki" } dd { (spoiled) }
                    dt { "Tryb kolejki" } dd { (match app.store.mode() { crate::records::store::QueueMode::Batch => "partie", _ => "automatyczny" }) }
                    dt { "Stacja" } dd { (s.station) " (szkoła RSPO " (s.school) ")" }
                    dt { "Wersja" } dd { (env!("CARGO_PKG_VERSION")) }
                }
            }
            section.panel {
                h2 { "Profil drukarki: " (s.printer.profile) }
                dl.facts {
                    dt { "Model" } dd { (profile.model) }
                    dt { "Język" } dd { (profile.protocol) }
                    dt { "Rozdzielczość" } dd { (profile.dpi) " dpi (" (profile.width_px) " × " (profile.height_px) " px)" }
                    dt { "Taśma" } dd { (profile.ribbon) }
                    dt { "Poziomy koloru" } dd { (profile.colour_levels) }
                    dt { "Dwustronna" } dd { (if profile.duplex { "tak" } else { "nie" }) }
                }
                p.muted { "Ustawienia zmienia się w /etc/legitka/legitka.toml i profilach (profiles/printers); stacja czyta je przy starcie." }
            }
        }
    };
    Ok(layout::page(&p, "/drukarka", "Drukarka", body))
}

pub async fn test_card(State(app): State<App>, c: Change<Empty>) -> Result<Response, Refusal> {
    admin_only(&c.page)?;
    if app.store.counts().await?.blanks_loaded > 0 {
        return Ok(layout::redirect(
            "/drukarka",
            false,
            "W drukarce są ponumerowane druki: karta testowa zużyłaby jeden z nich. Wyjmij je, zapisz to (Druki → Wyjmij z drukarki) i włóż czystą kartę.",
        ));
    }
    app.test_cards
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    app.queue_ready.notify_one();
    app.store
        .audit_as(&c.page.actor(), "printer.test_card", None, None)
        .await?;
    Ok(layout::redirect(
        "/drukarka",
        true,
        "Karta testowa czeka na drukarkę: wydrukuje się przed następną legitymacją.",
    ))
}
