//! Druki: numbered blanks. What is in stock and in the printer, and the
//! operator's hands on them: a delivery received, a stack loaded or taken
//! out, a blank destroyed or sent back, a range recorded in error voided.
//! Each changes the records only; the paper moves by hand.

use crate::records::store::{span, BlankStock, LARGE_DELIVERY};
use crate::web::auth::{Change, Page};
use crate::web::{layout, App, Refusal};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    let stock = app.store.blank_stock().await?;
    let mut feeders = Vec::new();
    for b in &stock {
        feeders.push((
            b.pattern.clone(),
            app.store.loaded_blanks(&b.pattern).await?,
        ));
    }
    let waiting = app.store.patterns_waiting_for_blanks().await?;
    // A reserved blank is named by the card that reserved it.
    let in_flight: std::collections::HashMap<String, String> = app
        .store
        .order_lines(&["printing", "held"])
        .await?
        .into_iter()
        .map(|o| (o.order_id, o.card_number))
        .collect();
    let card_of = |order: &Option<String>| {
        order
            .as_ref()
            .and_then(|o| in_flight.get(o))
            .cloned()
            .unwrap_or_else(|| "—".into())
    };
    let mut patterns: Vec<String> = app.renderer.patterns().map(|t| t.pattern.clone()).collect();
    patterns.sort();
    let select = |id: &str| {
        html! {
            select id=(id) name="pattern" required {
                @for pt in &patterns { option value=(pt) { (pt) } }
            }
        }
    };
    let body = html! {
        @for pt in &waiting {
            p.panel.advice role="alert" { "Zamówienia na druk " (pt) " czekają: w drukarce nie ma zapisanych druków tego wzoru. Włóż stos do podajnika i zapisz go poniżej (Załaduj)." }
        }
        section.panel aria-labelledby="h-stock" {
            h2 #h-stock { "Stan druków" }
            @if stock.is_empty() { p.muted { "Nie przyjęto żadnych ponumerowanych druków." } }
            @else { (stock_table(&stock)) }
        }
        section.panel aria-labelledby="h-feeder" {
            h2 #h-feeder { "W podajniku drukarki (według zapisów)" }
            @if feeders.iter().all(|(_, l)| l.is_empty()) { p.muted { "Żadne druki nie są zapisane jako załadowane." } }
            dl.facts {
                @for (pt, loaded) in &feeders {
                    @if !loaded.is_empty() {
                        @let free: Vec<String> = loaded.iter().filter(|(_, o)| o.is_none()).map(|(s, _)| s.clone()).collect();
                        dt { (pt) }
                        dd {
                            @if !free.is_empty() { (free.len()) " szt.: " (span(&free)) }
                            @for (s, o) in loaded.iter().filter(|(_, o)| o.is_some()) {
                                br; "nr " (s) " — zarezerwowany przez legitymację nr " (card_of(o)) " (drukuje się albo czeka na sprawdzenie)"
                            }
                        }
                    }
                }
            }
        }
        @if p.may_change() {
            div.grid {
                section.panel aria-labelledby="h-load" {
                    h2 #h-load { "Załaduj do drukarki" }
                    p.muted { "Włóż stos do podajnika, potem zapisz numer pierwszego druku (na wierzchu stosu, pobierany pierwszy) i liczbę." }
                    form.stack method="post" action="/druki/zaladuj" {
                        (layout::csrf(&p))
                        label for="lpattern" { "Wzór" } (select("lpattern"))
                        label for="lfirst" { "Nr pierwszego druku" }
                        input #lfirst name="first" required autocomplete="off" inputmode="numeric";
                        label for="lcount" { "Liczba" }
                        input #lcount name="count" type="number" min="1" max="1000" required;
                        button.primary type="submit" { "Zapisz załadowanie" }
                    }
                }
                section.panel aria-labelledby="h-unload" {
                    h2 #h-unload { "Wyjmij z drukarki" }
                    p.muted { "Wyjmij wszystkie druki z podajnika i zapisz to: wrócą do magazynu. (Zwrot do dostawcy to co innego: niżej.)" }
                    form.stack method="post" action="/druki/wyjmij" {
                        (layout::csrf(&p))
                        label for="upattern" { "Wzór" } (select("upattern"))
                        button.primary type="submit" { "Zapisz wyjęcie druków" }
                    }
                }
                section.panel aria-labelledby="h-receive" {
                    h2 #h-receive { "Przyjmij dostawę" }
                    form.stack method="post" action="/druki/przyjmij" {
                        (layout::csrf(&p))
                        label for="rpattern" { "Wzór" } (select("rpattern"))
                        label for="rfirst" { "Nr pierwszego druku" }
                        input #rfirst name="first" required autocomplete="off" inputmode="numeric";
                        label for="rcount" { "Liczba" }
                        input #rcount name="count" type="number" min="1" required;
                        input type="hidden" name="step" value="check";
                        button type="submit" { "Zapisz dostawę" }
                    }
                }
                section.panel aria-labelledby="h-dispose" {
                    h2 #h-dispose { "Druk zniszczony albo zwrócony dostawcy" }
                    form.stack method="post" action="/druki/rozchod" {
                        (layout::csrf(&p))
                        label for="dpattern" { "Wzór" } (select("dpattern"))
                        label for="dserial" { "Nr druku" }
                        input #dserial name="serial" required autocomplete="off";
                        label for="dhow" { "Co się stało" }
                        select #dhow name="how" {
                            option value="destroyed" { "zniszczony" }
                            option value="returned" { "zwrócony dostawcy" }
                        }
                        label for="dreason" { "Przyczyna" }
                        input #dreason name="reason" required maxlength="200";
                        button type="submit" { "Zapisz" }
                    }
                }
                section.panel aria-labelledby="h-void" {
                    h2 #h-void { "Korekta: dostawa zapisana błędnie" }
                    p.muted { "Numery, których nie ma w szafie (pomyłka przy przyjęciu). Zostają w zapisach jako anulowane, z przyczyną. Tylko druki w magazynie." }
                    form.stack method="post" action="/druki/korekta" {
                        (layout::csrf(&p))
                        label for="vpattern" { "Wzór" } (select("vpattern"))
                        label for="vfirst" { "Nr pierwszego druku" }
                        input #vfirst name="first" required autocomplete="off";
                        label for="vcount" { "Liczba" }
                        input #vcount name="count" type="number" min="1" required;
                        label for="vreason" { "Przyczyna" }
                        input #vreason name="reason" required maxlength="200";
                        input type="hidden" name="step" value="check";
                        button.danger type="submit" { "Sprawdź korektę" }
                    }
                }
            }
        }
    };
    Ok(layout::page(&p, "/druki", "Druki", body))
}

fn stock_table(stock: &[BlankStock]) -> Markup {
    html! {
        table {
            thead { tr {
                th { "Wzór" } th.num { "Przyjęto" } th.num { "W magazynie" } th.num { "W drukarce" }
                th.num { "Wydrukowano" } th.num { "Zepsuto" } th.num { "Zniszczono" } th.num { "Zwrócono" } th.num { "Anulowano" }
            } }
            tbody {
                @for b in stock {
                    tr {
                        td { (b.pattern) } td.num { (b.received) } td.num { (b.in_stock) } td.num { (b.loaded) }
                        td.num { (b.printed) } td.num { (b.spoiled) } td.num { (b.destroyed) } td.num { (b.returned) } td.num { (b.voided) }
                    }
                }
            }
        }
        @for b in stock.iter().filter(|b| b.cards_without_serial + b.spoiled_without_serial > 0) {
            p.advice { (b.pattern) ": " (b.cards_without_serial) " legitymacji i " (b.spoiled_without_serial)
                " zepsutych druków zapisano bez numeru druku — rozlicz je ręcznie." }
        }
    }
}

#[derive(Deserialize)]
pub struct Stack {
    pattern: String,
    first: String,
    count: u32,
}

pub async fn load(State(app): State<App>, c: Change<Stack>) -> Result<Response, Refusal> {
    let f = c.form;
    match app
        .store
        .load_blanks(f.pattern.trim(), f.first.trim(), f.count, &c.page.actor())
        .await
    {
        Ok(s) => {
            app.queue_ready.notify_one();
            Ok(layout::redirect(
                "/druki",
                true,
                &format!(
                    "Załadowano {} druków {}: {}. Drukarka pobiera je po kolei.",
                    s.len(),
                    f.pattern.trim(),
                    span(&s)
                ),
            ))
        }
        Err(e) => crate::web::refused("/druki", e),
    }
}

#[derive(Deserialize)]
pub struct Pattern {
    pattern: String,
}

pub async fn unload(State(app): State<App>, c: Change<Pattern>) -> Result<Response, Refusal> {
    let pattern = c.form.pattern.trim();
    match app.store.unload_blanks(pattern, &c.page.actor()).await {
        Ok(u) => {
            let mut text = if u.serials.is_empty() {
                String::new()
            } else {
                format!(
                    "Wyjęto {} druków {pattern}: {} — wróciły do magazynu.",
                    u.serials.len(),
                    span(&u.serials)
                )
            };
            for (s, _) in &u.reserved {
                text.push_str(&format!(
                    " Druk nr {s} jest zarezerwowany przez kartę w drukarce albo do sprawdzenia: rozstrzygnie go ta karta."
                ));
            }
            Ok(layout::redirect("/druki", true, text.trim()))
        }
        Err(e) => crate::web::refused("/druki", e),
    }
}

#[derive(Deserialize)]
pub struct Delivery {
    pattern: String,
    first: String,
    count: u32,
    /// `check`, then `save` (a large delivery is shown again to confirm).
    step: String,
}

pub async fn receive(State(app): State<App>, c: Change<Delivery>) -> Result<Response, Refusal> {
    let f = c.form;
    let pattern = match app.renderer.known_pattern(&f.pattern) {
        Ok(p) => p,
        Err(m) => return Ok(layout::redirect("/druki", false, &m)),
    };
    let first = f.first.trim();
    let confirmed = f.step == "save";
    if f.count > LARGE_DELIVERY && !confirmed {
        let body = html! {
            section.panel {
                p.big { "Dostawa " (f.count) " druków " (pattern) " od nr " (first) "?" }
                p { "To więcej niż " (LARGE_DELIVERY) ". Sprawdź liczbę na dokumencie dostawy: pomyłka zapisałaby druki, których nie ma." }
                form.actions method="post" action="/druki/przyjmij" {
                    (layout::csrf(&c.page))
                    input type="hidden" name="pattern" value=(pattern.as_str());
                    input type="hidden" name="first" value=(first);
                    input type="hidden" name="count" value=(f.count);
                    input type="hidden" name="step" value="save";
                    button.primary type="submit" { "Tak, liczba się zgadza — zapisz" }
                    a.button href="/druki" { "Wróć bez zmian" }
                }
            }
        };
        return Ok(layout::page(&c.page, "/druki", "Potwierdź dostawę", body).into_response());
    }
    match app
        .store
        .receive_blanks(&pattern, first, f.count, confirmed, &c.page.actor())
        .await
    {
        Ok(s) => Ok(layout::redirect(
            "/druki",
            true,
            &format!("Przyjęto {} druków {pattern}: {}.", s.len(), span(&s)),
        )),
        Err(e) => crate::web::refused("/druki", e),
    }
}

#[derive(Deserialize)]
pub struct Disposal {
    pattern: String,
    serial: String,
    how: String,
    reason: String,
}

pub async fn dispose(State(app): State<App>, c: Change<Disposal>) -> Result<Response, Refusal> {
    let f = c.form;
    match app
        .store
        .dispose_blank(
            f.pattern.trim(),
            f.serial.trim(),
            &f.how,
            f.reason.trim(),
            &c.page.actor(),
        )
        .await
    {
        Ok(()) => Ok(layout::redirect(
            "/druki",
            true,
            &format!(
                "Druk {} nr {} zapisany jako {}.",
                f.pattern.trim(),
                f.serial.trim(),
                if f.how == "destroyed" {
                    "zniszczony"
                } else {
                    "zwrócony dostawcy"
                }
            ),
        )),
        Err(e) => crate::web::refused("/druki", e),
    }
}

#[derive(Deserialize)]
pub struct Correction {
    pattern: String,
    first: String,
    count: u32,
    reason: String,
    step: String,
}

pub async fn void(State(app): State<App>, c: Change<Correction>) -> Result<Response, Refusal> {
    let f = c.form;
    let (pattern, first, reason) = (f.pattern.trim(), f.first.trim(), f.reason.trim());
    if f.step != "save" {
        let serials = match crate::records::serial::range(first, f.count) {
            Ok(s) => s,
            Err(e) => return Ok(layout::redirect("/druki", false, &e.to_string())),
        };
        let body = html! {
            section.panel {
                p.big { "Anulować " (f.count) " druków " (pattern) ": " (span(&serials)) "?" }
                p { "Przyczyna: " (reason) }
                p { "Te numery zostaną w zapisach jako anulowane i nie będą liczone jako przyjęte. Tylko druki w magazynie: jeśli któryś był użyty, nic nie zostanie zapisane." }
                form.actions method="post" action="/druki/korekta" {
                    (layout::csrf(&c.page))
                    input type="hidden" name="pattern" value=(pattern);
                    input type="hidden" name="first" value=(first);
                    input type="hidden" name="count" value=(f.count);
                    input type="hidden" name="reason" value=(reason);
                    input type="hidden" name="step" value="save";
                    button.danger type="submit" { "Tak, anuluj te numery" }
                    a.button href="/druki" { "Wróć bez zmian" }
                }
            }
        };
        return Ok(layout::page(&c.page, "/druki", "Potwierdź korektę", body).into_response());
    }
    match app
        .store
        .void_blanks(pattern, first, f.count, reason, &c.page.actor())
        .await
    {
        Ok(s) => Ok(layout::redirect(
            "/druki",
            true,
            &format!("Anulowano {} druków {pattern}: {}.", s.len(), span(&s)),
        )),
        Err(e) => crate::web::refused("/druki", e),
    }
}
