//! Hologramy: a sticker on one card (typed, or scanned: a scanner types the
//! card number and Enter), a whole class with a preview first, the stock.

use crate::records::hologram::SchoolYear;
use crate::records::report::catalogue::date_pl;
use crate::records::store::{Applied, CardRef, ClassCards};
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
    SchoolYear::current()
}

pub async fn page(
    State(app): State<App>,
    p: Page,
    Query(pre): Query<Prefill>,
) -> Result<Markup, Refusal> {
    let stock = app.store.hologram_stock().await?;
    let open = SchoolYear::open_on(crate::records::clock::today());
    let last_year = this_year().previous().to_string();
    let years = |id: &str| {
        html! {
            select id=(id) name="year" required {
                @for y in &open { option value=(y.to_string()) { (y.to_string()) } }
            }
        }
    };
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
                        (years("year"))
                        details {
                            summary { "Duplikat o tym samym numerze?" }
                            label for="blank" { "Nr druku z legitymacji" }
                            input #blank name="blank" autocomplete="off" inputmode="numeric";
                        }
                        button.primary type="submit" { "Zapisz hologram" }
                    }
                }
                section.panel aria-labelledby="h-pile" {
                    h2 #h-pile { "Stos legitymacji" }
                    p.muted { "Skanuj legitymacje po kolei; każda dostaje kolejny hologram z rolki, od pierwszego numeru. Najpierw podgląd." }
                    form.stack method="post" action="/hologramy/stos" {
                        (layout::csrf(&p))
                        label for="cards" { "Numery legitymacji, jeden w wierszu (po spacji można dopisać nr druku)" }
                        textarea #cards name="cards" rows="8" required autocomplete="off" {}
                        label for="pfirst" { "Nr pierwszego hologramu" }
                        input #pfirst name="first" required autocomplete="off";
                        label for="pyear" { "Rok szkolny" }
                        (years("pyear"))
                        input type="hidden" name="step" value="preview";
                        button type="submit" { "Pokaż podgląd" }
                    }
                }
                section.panel aria-labelledby="h-class" {
                    h2 #h-class { "Cała klasa" }
                    p.muted { "Klasa tak, jak zapisano ją przy wydaniu legitymacji, w roku szkolnym wydania (klasa 4b sprzed roku to dziś 5b). Najpierw podgląd." }
                    form.stack method="post" action="/hologramy/klasa" {
                        (layout::csrf(&p))
                        label for="class" { "Klasa przy wydaniu" }
                        input #class name="class" required;
                        label for="issued_in" { "Legitymacje wydane w roku szkolnym" }
                        input #issued_in name="issued_in" value=(last_year) required pattern="[0-9]{4}/[0-9]{4}";
                        label for="first" { "Nr pierwszego hologramu" }
                        input #first name="first" required autocomplete="off";
                        label for="cyear" { "Hologramy na rok szkolny" }
                        (years("cyear"))
                        input type="hidden" name="step" value="preview";
                        button type="submit" { "Pokaż podgląd" }
                    }
                }
                section.panel aria-labelledby="h-spoil" {
                    h2 #h-spoil { "Zepsuty hologram" }
                    form.stack method="post" action="/hologramy/zepsuty" {
                        (layout::csrf(&p))
                        label for="sserial" { "Nr hologramu" }
                        input #sserial name="serial" required autocomplete="off";
                        label for="reason" { "Przyczyna" }
                        input #reason name="reason" required maxlength="200";
                        label for="scard" { "Nr legitymacji, jeśli był już naklejony" }
                        input #scard name="card" autocomplete="off";
                        button type="submit" { "Zapisz jako zepsuty" }
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
    /// The blank serial on the card: tells an original from its duplicate.
    #[serde(default)]
    blank: String,
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
    let serial = f.serial.trim();
    let Some(card) = CardRef::from_parts(Some(&f.card), Some(&f.blank), None) else {
        return Ok(layout::redirect(
            "/hologramy",
            false,
            "Podaj numer legitymacji.",
        ));
    };
    match app
        .store
        .apply_hologram(&card, year, serial, &c.page.actor())
        .await
    {
        Ok(a) => Ok(layout::redirect(
            "/hologramy",
            true,
            &format!(
                "Hologram {year} nr {} naklejony na legitymację {} ({} {}), pole {}.",
                a.serial, a.card_number, a.last_name, a.first_names, a.slot
            ),
        )),
        Err(e) => crate::web::refused(&format!("/hologramy?karta={}", urlencode(f.card.trim())), e),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct Class {
    class: String,
    /// The school year the class's cards were issued in.
    issued_in: String,
    first: String,
    year: String,
    /// `preview` shows what would be recorded; `save` records it.
    step: String,
}

pub async fn apply_class(State(app): State<App>, c: Change<Class>) -> Result<Response, Refusal> {
    let f = c.form;
    let (year, issued_in) = match (year_of(&f.year), year_of(&f.issued_in)) {
        (Ok(y), Ok(i)) => (y, i),
        (Err(m), _) | (_, Err(m)) => return Ok(layout::redirect("/hologramy", false, &m)),
    };
    let (class, first) = (f.class.trim(), f.first.trim());
    let save = f.step == "save";
    let which = ClassCards {
        class: class.to_string(),
        issued_in,
    };
    let plan: Vec<Applied> = match app
        .store
        .apply_class(&which, year, first, &c.page.actor(), !save)
        .await
    {
        Ok(p) => p,
        Err(e) => return crate::web::refused("/hologramy", e),
    };
    if save {
        return Ok(layout::redirect(
            "/hologramy",
            true,
            &format!(
                "Klasa {class} ({issued_in}): naklejono {} hologramów {year}.",
                plan.len()
            ),
        ));
    }
    let hidden = [
        ("class", class.to_string()),
        ("issued_in", issued_in.to_string()),
        ("first", first.to_string()),
        ("year", year.to_string()),
    ];
    let intro = format!(
        "Klasa {class} (legitymacje wydane w roku szkolnym {issued_in}), hologramy {year}: {} kart. Sprawdź, czy numery zgadzają się z naklejkami w ręku.",
        plan.len()
    );
    Ok(plan_page(
        &c.page,
        &format!("Hologramy klasy {class} — podgląd"),
        &intro,
        &plan,
        "/hologramy/klasa",
        &hidden,
    ))
}

#[derive(Deserialize)]
pub struct Pile {
    /// The cards as scanned, one a line: the number, optionally followed
    /// by the blank serial.
    cards: String,
    first: String,
    year: String,
    step: String,
}

/// A pile of cards scanned one after another, each taking the next sticker
/// of the roll: what the secretary does with the cards collected in
/// September, whatever class the pupils are in now.
pub async fn apply_pile(State(app): State<App>, c: Change<Pile>) -> Result<Response, Refusal> {
    let f = c.form;
    let year = match year_of(&f.year) {
        Ok(y) => y,
        Err(m) => return Ok(layout::redirect("/hologramy", false, &m)),
    };
    let first = f.first.trim();
    let cards: Vec<CardRef> = f.cards.lines().filter_map(CardRef::from_line).collect();
    if cards.len() > 2000 {
        return Ok(layout::redirect(
            "/hologramy",
            false,
            "Za dużo kart naraz: najwyżej 2000.",
        ));
    }
    let save = f.step == "save";
    let plan = match app
        .store
        .apply_pile(&cards, year, first, &c.page.actor(), !save)
        .await
    {
        Ok(p) => p,
        Err(e) => return crate::web::refused("/hologramy", e),
    };
    if save {
        return Ok(layout::redirect(
            "/hologramy",
            true,
            &format!("Naklejono {} hologramów {year}.", plan.len()),
        ));
    }
    let hidden = [
        ("cards", f.cards.clone()),
        ("first", first.to_string()),
        ("year", year.to_string()),
    ];
    let intro = format!(
        "Hologramy {year} na {} zeskanowanych kartach, w kolejności skanowania. Sprawdź, czy numery zgadzają się z naklejkami w ręku.",
        plan.len()
    );
    Ok(plan_page(
        &c.page,
        "Hologramy na stos kart — podgląd",
        &intro,
        &plan,
        "/hologramy/stos",
        &hidden,
    ))
}

/// What a class or a pile would record, card -> sticker, and the button
/// that records it (the same form again, `step=save`).
fn plan_page(
    p: &Page,
    title: &str,
    intro: &str,
    plan: &[Applied],
    action: &str,
    hidden: &[(&str, String)],
) -> Response {
    let body = html! {
        section.panel {
            p { (intro) }
            table {
                thead { tr { th { "Lp." } th { "Nr legitymacji" } th { "Nazwisko i imiona" } th { "Wydana" } th { "Nr hologramu" } th { "Pole" } } }
                tbody {
                    @for (i, a) in plan.iter().enumerate() {
                        tr { td { (i + 1) } td { (a.card_number) } td { (a.last_name) " " (a.first_names) } td { (date_pl(&a.issue_date)) } td { (a.serial) } td { (a.slot) } }
                    }
                }
            }
            form.actions method="post" action=(action) {
                (layout::csrf(p))
                @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
                input type="hidden" name="step" value="save";
                button.primary type="submit" { "Zapisz hologramy (" (plan.len()) ")" }
                a.button href="/hologramy" { "Wróć bez zmian" }
            }
        }
    };
    layout::page(p, "/hologramy", title, body).into_response()
}

#[derive(Deserialize)]
pub struct Spoil {
    serial: String,
    reason: String,
    /// The card it is on, if it was applied.
    #[serde(default)]
    card: String,
    #[serde(default)]
    blank: String,
}

pub async fn spoil(State(app): State<App>, c: Change<Spoil>) -> Result<Response, Refusal> {
    let f = c.form;
    if f.reason.trim().is_empty() {
        return Ok(layout::redirect("/hologramy", false, "Podaj przyczynę."));
    }
    let card = CardRef::from_parts(Some(&f.card), Some(&f.blank), None);
    match app
        .store
        .spoil_hologram(
            f.serial.trim(),
            f.reason.trim(),
            card.as_ref(),
            &c.page.actor(),
        )
        .await
    {
        Ok(()) => Ok(layout::redirect(
            "/hologramy",
            true,
            &format!("Hologram {} zapisany jako zepsuty.", f.serial.trim()),
        )),
        Err(e) => crate::web::refused("/hologramy", e),
    }
}
