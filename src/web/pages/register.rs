//! Rejestr: every card issued, searchable; a card's page with its data,
//! issue details and the eight hologram fields.

use crate::card::photo::Photo;
use crate::records::hologram::FIELDS;
use crate::records::store::{RegisterFilter, Standing};
use crate::web::auth::Page;
use crate::web::{layout, polish, App, Refusal};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

/// At most this many rows on one page: a register holds years of cards.
const SHOWN: usize = 200;

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// The card's standing today, and the badge it shows with.
fn state(s: Standing) -> (String, &'static str) {
    let kind = if s.is_valid() { "ok" } else { "warn" };
    (s.to_string(), kind)
}

pub async fn page(
    State(app): State<App>,
    p: Page,
    Query(s): Query<Search>,
) -> Result<Markup, Refusal> {
    let words: Vec<String> = s.q.split_whitespace().map(str::to_lowercase).collect();
    let (total, count, found) = app.store.register_search(&words, SHOWN).await?;
    let today = crate::records::clock::today();
    let body = html! {
        form.row method="get" action="/rejestr" role="search" {
            label for="q" { "Szukaj (nazwisko, imię, nr legitymacji, klasa)" }
            input #q type="search" name="q" value=(s.q) autofocus;
            button.primary type="submit" { "Szukaj" }
        }
        p.muted {
            @if words.is_empty() { "W rejestrze jest " (total) " legitymacji; najnowsze pierwsze." }
            @else { "Znaleziono " (count) " z " (total) "." }
            @if count > SHOWN { " Pokazano pierwsze " (SHOWN) "; zawęź wyszukiwanie." }
        }
        table {
            thead { tr { th { "Nr legitymacji" } th { "Nazwisko i imiona" } th { "Klasa" } th { "Wydana" } th { "Rodzaj" } th { "Hologramy" } th { "Stan" } } }
            tbody {
                @for e in &found {
                    @let (word, kind) = state(e.standing(today));
                    tr {
                        td { a href={ "/rejestr/" (e.id) } { (e.card_number) } }
                        td { (e.last_name) " " (e.first_names) }
                        td { (e.class.as_deref().unwrap_or("")) }
                        td { (polish::day(&e.issued)) }
                        td { (polish::reason(&e.reason)) }
                        td { (e.holograms) " z " (FIELDS) }
                        td { span.state.(kind) { (word) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&p, "/rejestr", "Rejestr", body))
}

pub async fn card(State(app): State<App>, Path(id): Path<i64>, p: Page) -> Result<Markup, Refusal> {
    let e = app
        .store
        .register_entries(&RegisterFilter {
            id: Some(id),
            ..RegisterFilter::default()
        })
        .await?
        .into_iter()
        .next()
        .ok_or(Refusal::NotFound)?;
    let fields = app.store.hologram_fields(id).await?;
    let (word, kind) = state(e.standing(crate::records::clock::today()));
    let body = html! {
        div.split {
            section.panel {
                h2 { "Legitymacja" }
                img.preview src={ "/rejestr/" (id) "/podglad" } alt={ "Podgląd legitymacji " (e.card_number) };
                p.muted { "Podgląd z danych rejestru. Zdjęcie i PESEL usunięto po wydruku (ochrona danych dziecka)." }
            }
            section.panel {
                h2 { (e.last_name) " " (e.first_names) }
                dl.facts {
                    dt { "Nr legitymacji" } dd { (e.card_number) }
                    dt { "Stan" } dd { span.state.(kind) { (word) } @if let Some(r) = &e.returned { " " (polish::day(r)) } }
                    dt { "Klasa" } dd { (e.class.as_deref().unwrap_or("—")) }
                    dt { "Data urodzenia" } dd { (e.birth_date.as_deref().map(polish::day).unwrap_or_else(|| "—".into())) }
                    dt { "Id ucznia" } dd { (e.student_id) }
                    dt { "Wydana" } dd { (polish::day(&e.issued)) }
                    dt { "Rodzaj" } dd { (polish::reason(&e.reason)) }
                    dt { "Nr druku" } dd { (e.blank_serial.as_deref().unwrap_or("—")) }
                    dt { "Drukarka" } dd { (e.printer) }
                    dt { "Partia" } dd { (e.batch_id.as_deref().unwrap_or("—")) }
                    dt { "Wydał(a)" } dd { (e.operator.as_deref().unwrap_or("—")) }
                }
            }
        }
        section.panel aria-labelledby="h-fields" {
            h2 #h-fields { "Hologramy (" (fields.len()) " z " (FIELDS) " pól)" }
            div.fields {
                @for slot in 1..=FIELDS {
                    @match fields.iter().find(|f| f.slot == slot) {
                        Some(f) => div.field.on { b { "Pole " (slot) ": " (f.school_year) } "nr " (f.serial) br; span.muted { (polish::day(&f.applied_at)) @if let Some(by) = &f.applied_by { " · " (by) } } }
                        None => div.field { b { "Pole " (slot) } span.muted { "wolne" } }
                    }
                }
            }
            @if p.may_change() && e.returned.is_none() && !e.superseded && (fields.len() as i64) < FIELDS {
                p { a href={ "/hologramy?karta=" (e.card_number) } { "Naklej hologram na tę legitymację" } }
            }
        }
    };
    Ok(layout::page(
        &p,
        "/rejestr",
        &format!("Legitymacja {}", e.card_number),
        body,
    ))
}

/// A neutral grey where the photo was: the register keeps no photo.
fn no_photo() -> Option<Photo> {
    static JPEG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let jpeg = JPEG.get_or_init(|| {
        let img = image::RgbImage::from_pixel(300, 375, image::Rgb([205, 208, 214]));
        let mut out = std::io::Cursor::new(Vec::new());
        let _ = img.write_to(&mut out, image::ImageFormat::Jpeg);
        out.into_inner()
    });
    Photo::from_store(jpeg.clone()).ok()
}

pub async fn preview(
    State(app): State<App>,
    Path(id): Path<i64>,
    _p: Page,
) -> Result<Response, Refusal> {
    let order = app
        .store
        .order_of_card(id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let (data, photo) = app
        .store
        .order_card(&order)
        .await?
        .ok_or(Refusal::NotFound)?;
    let photo = photo.or_else(no_photo).ok_or(Refusal::NotFound)?;
    super::holds::png(&app, super::holds::masked(data), photo).await
}
