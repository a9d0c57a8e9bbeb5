//! Do sprawdzenia: cards held for an operator's word, with the card's
//! preview and the choices, each confirmed before it is recorded.

use crate::card::order::{CardData, Identity};
use crate::card::photo::Photo;
use crate::records::store::Released;
use crate::web::auth::{Change, Page};
use crate::web::{layout, polish, App, Refusal};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

/// The decisions, by their path word: (question, button, done).
fn decision(word: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match word {
        "potwierdz" => (
            "Karta wyszła z drukarki cała i czytelna? Zostanie wpisana do rejestru i nie wydrukuje się ponownie.",
            "Tak, karta jest dobra — wpisz do rejestru",
            "wpisana do rejestru",
        ),
        "ponow" => (
            "Karta nie wyszła (albo wyszła zła), a druk nie został zużyty? Karta wydrukuje się ponownie na kolejnym druku.",
            "Tak, drukuj ponownie",
            "wróciła do kolejki",
        ),
        "zepsuty" => (
            "Karta wyszła zła i druk jest zepsuty? Druk zostanie zapisany jako zepsuty, a karta wydrukuje się ponownie na następnym.",
            "Tak, druk zepsuty — drukuj ponownie",
            "wróciła do kolejki, druk zapisany jako zepsuty",
        ),
        "usun" => (
            "Zdjęcie ucznia zostało wycofane, więc tej karty nie da się wydrukować. Usunąć dane zamówienia (imiona, datę urodzenia, PESEL)? System centralny dostanie o tym informację; karta wymaga nowego zamówienia z nowym zdjęciem.",
            "Tak, usuń dane zamówienia",
            "usunięta: dane zamówienia skasowane",
        ),
        _ => return None,
    })
}

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    let held = app.store.order_lines(&["held"]).await?;
    let body = html! {
        @if held.is_empty() {
            p.panel { "Nie ma kart do sprawdzenia." }
        }
        @for o in &held {
            @let code = o.hold_code.as_deref().unwrap_or("");
            section.panel aria-labelledby={ "h-" (o.order_id) } {
                h2 id={ "h-" (o.order_id) } { (o.last_name) " " (o.first_names) " · nr " (o.card_number) @if let Some(c) = &o.class { " · klasa " (c) } }
                p.advice { (polish::hold(code)) }
                @if let Some(m) = &o.hold_message { p.muted { "Stacja: " (m) } }
                div.actions {
                    @if code == "needs_check" {
                        img.preview src={ "/podglad/" (o.order_id) } alt={ "Podgląd legitymacji " (o.card_number) };
                    }
                    @if p.may_change() {
                        div.actions {
                            @if code == "needs_check" {
                                a.button.primary href={ "/sprawdzenie/" (o.order_id) "/potwierdz" } { "Karta jest dobra" }
                                a.button href={ "/sprawdzenie/" (o.order_id) "/ponow" } { "Karta nie wyszła — drukuj ponownie" }
                                a.button href={ "/sprawdzenie/" (o.order_id) "/zepsuty" } { "Druk zepsuty — drukuj ponownie" }
                            } @else if code != "photo_revoked" {
                                a.button href={ "/sprawdzenie/" (o.order_id) "/ponow" } { "Drukuj ponownie" }
                            } @else {
                                a.button href={ "/sprawdzenie/" (o.order_id) "/usun" } { "Usuń dane zamówienia" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&p, "/sprawdzenie", "Do sprawdzenia", body))
}

/// The confirmation step: the card and the question, then the button that
/// records the decision.
pub async fn confirm_page(
    State(app): State<App>,
    Path((order, word)): Path<(String, String)>,
    p: Page,
) -> Result<Markup, Refusal> {
    let (question, button, _) = decision(&word).ok_or(Refusal::NotFound)?;
    let reserved = app.store.reserved_blank(&order).await?;
    let line = app
        .store
        .order_lines(&["held"])
        .await?
        .into_iter()
        .find(|o| o.order_id == order)
        .ok_or(Refusal::NotFound)?;
    let body = html! {
        section.panel {
            h2 { (line.last_name) " " (line.first_names) " · nr " (line.card_number) }
            @if word != "usun" {
                img.preview src={ "/podglad/" (line.order_id) } alt={ "Podgląd legitymacji " (line.card_number) };
            }
            p.big { (question) }
            @if let Some((pattern, serial)) = &reserved {
                p { "Karta zaczęła się drukować na druku " strong { (pattern) " nr " (serial) } ". Sprawdź numer na karcie: "
                    @if word == "ponow" { "jeśli druk został w podajniku, karta wydrukuje się na nim ponownie." }
                    @else { "ten druk zostanie zapisany." } }
            }
            form.actions method="post" action={ "/sprawdzenie/" (order) "/" (word) } {
                (layout::csrf(&p))
                // A discarded order never printed: no blank to name.
                @if reserved.is_none() && word != "ponow" && word != "usun" {
                    label for="blank" { "Nr druku z karty (jeśli był ponumerowany)" }
                    input #blank name="blank" autocomplete="off" inputmode="numeric" placeholder="np. 000105";
                }
                button.primary type="submit" { (button) }
                a.button href="/sprawdzenie" { "Wróć bez zmian" }
            }
        }
    };
    Ok(layout::page(&p, "/sprawdzenie", "Potwierdź decyzję", body))
}

#[derive(serde::Deserialize)]
pub struct Decision {
    /// The serial read off the card, for a card that reserved no blank.
    #[serde(default)]
    blank: String,
}

pub async fn decide(
    State(app): State<App>,
    Path((order, word)): Path<(String, String)>,
    c: Change<Decision>,
) -> Result<Response, Refusal> {
    let (_, _, done) = decision(&word).ok_or(Refusal::NotFound)?;
    let actor = c.page.actor();
    let blank = Some(c.form.blank.trim()).filter(|b| !b.is_empty());
    let card = app
        .store
        .order_lines(&["held"])
        .await
        .ok()
        .and_then(|l| l.into_iter().find(|o| o.order_id == order))
        .map(|o| o.card_number)
        .unwrap_or_else(|| order.clone());
    let result = match word.as_str() {
        "potwierdz" => app
            .store
            .confirm_printed(&order, &actor, blank)
            .await
            .map(|_| None),
        "zepsuty" => app
            .store
            .release(&order, &actor, true, blank)
            .await
            .map(Some),
        "usun" => app.store.discard_held(&order, &actor).await.map(|_| None),
        _ => app
            .store
            .release(&order, &actor, false, None)
            .await
            .map(Some),
    };
    match result {
        Ok(released) => {
            app.queue_ready.notify_one();
            let text = match released {
                Some(Released::HeldRevoked) => {
                    format!("Legitymacja {card}: zdjęcie wycofane, karta pozostaje wstrzymana.")
                }
                _ => format!("Legitymacja {card} {done}."),
            };
            Ok(layout::redirect("/sprawdzenie", true, &text))
        }
        Err(e) => crate::web::refused("/sprawdzenie", e),
    }
}

/// The card as it is printed, with the PESEL masked: the operator compares
/// it with the card in hand.
pub fn masked(mut data: CardData) -> CardData {
    data.identity = match data.identity {
        Identity::Pesel(p) => Identity::Pesel(polish::mask_pesel(&p).replace('•', "*")),
        Identity::Document { name, number } => Identity::Document {
            name,
            number: polish::mask_pesel(&number).replace('•', "*"),
        },
    };
    data
}

/// A PNG of the card's front, `width` pixels wide.
pub async fn png(app: &App, data: CardData, photo: Photo) -> Result<Response, Refusal> {
    // A photo decodes to up to 160 MB of pixels: a few at a time, the rest
    // wait their turn (and give up after a while rather than pile up).
    let _turn = tokio::time::timeout(PREVIEW_WAIT, app.0.previews.acquire())
        .await
        .map_err(|_| Refusal::Busy)?
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let renderer = app.renderer.clone();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let card = renderer.render(&data, &photo).map_err(|e| e.to_string())?;
        let img = renderer.preview(&card).map_err(|e| e.to_string())?;
        let w = 640u32;
        let h = (img.height() as f32 * w as f32 / img.width() as f32).round() as u32;
        let small = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
        let mut out = std::io::Cursor::new(Vec::new());
        small
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(out.into_inner())
    })
    .await
    .map_err(|e| Refusal::Internal(e.to_string()))?
    .map_err(Refusal::Internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], bytes).into_response())
}

/// How long a preview waits for its turn before the page is told to retry.
const PREVIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

pub async fn preview(
    State(app): State<App>,
    Path(order): Path<String>,
    _p: Page,
) -> Result<Response, Refusal> {
    let Some((data, Some(photo))) = app.store.order_card(&order).await? else {
        return Err(Refusal::NotFound);
    };
    png(&app, masked(data), photo).await
}
