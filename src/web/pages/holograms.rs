//! Hologramy: a sticker on one card (typed, or scanned: a scanner types the
//! card number and Enter), a whole class with a preview first, the stock.

use crate::records::hologram::SchoolYear;
use crate::records::store::Applied;
use crate::web::auth::{Change, Page};
use crate::web::{layout, App, Refusal};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    karta: String,
}

fn this_year() -> SchoolYear {
    SchoolYear::of(chrono::Local::now().date_naive())
}

pub async fn page(
    State(app): State<App>,
    p: Page,
    Query(pre): Query<Prefill>,
) -> Result<Markup, Refusal> {
    let stock = app.store.hologram_stock().await?;
    let year = this_year().to_string();
    let body = html! {
        @if p.may_change() {
            div.grid {
                section.panel aria-labelledby="h-one" {
                    h2 #h-one { "Naklej hologram" }
                    form.stack method="post" action="/hologramy/naklej" {
                        (layout::csrf(&p))
                        label for="card" { "Nr legitymacji (wpisz albo zeskanuj)" }
                        input #card name="card" value=(pre.karta) required autofocus autocomplete="off" data-next="serial";
                        label for="serial" { "Nr hologramu" }
                        input #serial name="serial" required autocomplete="off";
                        label for="year" { "Rok szkolny" }
                        input #year name="year" value=(year) required pattern="[0-9]{4}/[0-9]{4}";
                        button.primary type="submit" { "Zapisz hologram" }
                    }
                }
                section.panel aria-labelledby="h-class" {
                    h2 #h-class { "Cała klasa" }
                    p.muted { "Najpierw podgląd: która legitymacja dostanie który numer. Nic nie jest zapisywane, dopóki nie potwierdzisz." }
                    form.stack method="post" action="/hologramy/klasa" {
                        (layout::csrf(&p))
                        label for="class" { "Klasa" }
                        input #class name="class" required;
                        label for="first" { "Nr pierwszego hologramu" }
                        input #first name="first" required autocomplete="off";
                        label for="cyear" { "Rok szkolny" }
                        input #cyear name="year" value=(year) required pattern="[0-9]{4}/[0-9]{4}";
                        input type="hidden" name="step" value="preview";
                        button type="submit" { "Pokaż podgląd" }
                    }
                }
            }
        }
        section.panel aria-labelledby="h-stock" {
            h2 #h-stock { "Stan hologramów" }
            @if stock.is_empty() { p.muted { "Nie przyjęto żadnych hologramów (legitka holograms receive)." } }
            @else {
                table {
                    thead { tr { th { "Rok szkolny" } th.num { "Przyjęto" } th.num { "Naklejono" } th.num { "Zepsuto" } th.num { "W magazynie" } } }
                    tbody {
                        @for s in &stock {
                            tr { td { (s.school_year) } td.num { (s.received) } td.num { (s.applied) } td.num { (s.spoiled) } td.num { (s.in_stock) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&p, "/hologramy", "Hologramy", body))
}

#[derive(Deserialize)]
pub struct One {
    card: String,
    serial: String,
    year: String,
}

fn year_of(text: &str) -> Result<SchoolYear, String> {
    text.trim()
        .parse::<SchoolYear>()
        .map_err(|e| crate::web::polish::hologram(&e))
}

pub async fn apply(State(app): State<App>, c: Change<One>) -> Result<Response, Refusal> {
    let f = c.form;
    let year = match year_of(&f.year) {
        Ok(y) => y,
        Err(m) => return Ok(layout::redirect("/hologramy", false, &m)),
    };
    let (card, serial) = (f.card.trim(), f.serial.trim());
    match app
        .store
        .apply_hologram(card, year, serial, &c.page.operator())
        .await
    {
        Ok(a) => {
            app.store
                .audit(
                    &c.page.user.login,
                    "web",
                    "hologram.apply",
                    Some(card),
                    Some(&format!("{year} nr {serial}, pole {}", a.slot)),
                )
                .await?;
            Ok(layout::redirect(
                "/hologramy",
                true,
                &format!(
                    "Hologram {year} nr {} naklejony na legitymację {} ({} {}), pole {}.",
                    a.serial, a.card_number, a.last_name, a.first_names, a.slot
                ),
            ))
        }
        Err(e) => crate::web::refused(&format!("/hologramy?karta={}", urlencode(card)), e),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct Class {
    class: String,
    first: String,
    year: String,
    /// `preview` shows what would be recorded; `save` records it.
    step: String,
}

pub async fn apply_class(State(app): State<App>, c: Change<Class>) -> Result<Response, Refusal> {
    let f = c.form;
    let year = match year_of(&f.year) {
        Ok(y) => y,
        Err(m) => return Ok(layout::redirect("/hologramy", false, &m)),
    };
    let (class, first) = (f.class.trim(), f.first.trim());
    let save = f.step == "save";
    let plan: Vec<Applied> = match app
        .store
        .apply_class(class, year, first, &c.page.operator(), !save)
        .await
    {
        Ok(p) => p,
        Err(e) => return crate::web::refused("/hologramy", e),
    };
    if save {
        app.store
            .audit(
                &c.page.user.login,
                "web",
                "hologram.apply_class",
                Some(class),
                Some(&format!("{year}: {} hologramów od nr {first}", plan.len())),
            )
            .await?;
        return Ok(layout::redirect(
            "/hologramy",
            true,
            &format!("Klasa {class}: naklejono {} hologramów {year}.", plan.len()),
        ));
    }
    let p = &c.page;
    let body = html! {
        section.panel {
            @if plan.is_empty() {
                p { "Wszystkie legitymacje klasy " (class) " mają już hologram na rok " (year) "." }
                a.button href="/hologramy" { "Wróć" }
            } @else {
                p { "Klasa " (class) ", rok " (year) ": " (plan.len()) " hologramów. Sprawdź, czy numery zgadzają się z naklejkami w ręku." }
                table {
                    thead { tr { th { "Lp." } th { "Nr legitymacji" } th { "Nazwisko i imiona" } th { "Nr hologramu" } th { "Pole" } } }
                    tbody {
                        @for (i, a) in plan.iter().enumerate() {
                            tr { td { (i + 1) } td { (a.card_number) } td { (a.last_name) " " (a.first_names) } td { (a.serial) } td { (a.slot) } }
                        }
                    }
                }
                form.actions method="post" action="/hologramy/klasa" {
                    (layout::csrf(p))
                    input type="hidden" name="class" value=(class);
                    input type="hidden" name="first" value=(first);
                    input type="hidden" name="year" value=(year.to_string());
                    input type="hidden" name="step" value="save";
                    button.primary type="submit" { "Zapisz hologramy (" (plan.len()) ")" }
                    a.button href="/hologramy" { "Wróć bez zmian" }
                }
            }
        }
    };
    Ok(layout::page(
        p,
        "/hologramy",
        &format!("Hologramy klasy {class} — podgląd"),
        body,
    )
    .into_response())
}
