//! Raporty: the records' reports (the same as `legitka report`), as PDF or
//! CSV downloads.

use crate::records::hologram::SchoolYear;
use crate::records::report::catalogue::{self, Report, ReportError};
use crate::records::report::{csv, pdf};
use crate::web::auth::Page;
use crate::web::{layout, App, Refusal};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    let batches = app.store.batch_summaries(false, 30, 0).await?;
    let (mut classes, years) = app.store.register_classes_and_years().await?;
    classes.sort_by_key(|c| catalogue::polish_key(c));
    let holo_years: Vec<String> = app
        .store
        .hologram_stock()
        .await?
        .into_iter()
        .map(|h| h.school_year)
        .collect();
    let link = |q: &str, fmt: &str| format!("/raporty/pobierz?{q}&format={fmt}");
    // One row per report: what it is, then its two formats.
    let row = |label: String, q: String| {
        html! {
            tr {
                td { (label) }
                td.num { a.button href=(link(&q, "pdf")) aria-label={ (label) " — PDF" } { "PDF" } }
                td.num { a.button href=(link(&q, "csv")) aria-label={ (label) " — CSV" } { "CSV (Excel)" } }
            }
        }
    };
    let body = html! {
        div.grid.wide {
            section.panel {
                h2 { "Rejestr wydanych legitymacji" }
                table.plain { tbody {
                    (row("Wszystkie lata".into(), "rodzaj=rejestr".into()))
                    @for y in &years { (row(format!("Rok {y}"), format!("rodzaj=rejestr&rok={y}"))) }
                } }
            }
            section.panel {
                h2 { "Listy odbioru (klasy)" }
                @if classes.is_empty() { p.muted { "Rejestr nie ma jeszcze klas." } }
                table.plain { tbody {
                    @for c in &classes { (row(format!("Klasa {c}"), format!("rodzaj=odbior&klasa={}", enc(c)))) }
                } }
            }
            section.panel {
                h2 { "Protokoły partii" }
                @if batches.is_empty() { p.muted { "Nie było jeszcze partii." } }
                table.plain { tbody {
                    @for b in &batches {
                        (row(
                            match &b.class { Some(c) => format!("{} (klasa {c})", b.id), None => b.id.clone() },
                            format!("rodzaj=partia&partia={}", enc(&b.id)),
                        ))
                    }
                } }
                @if batches.len() == 30 {
                    // Older batches by their number: a decade has thousands.
                    form.row method="get" action="/raporty/pobierz" {
                        input type="hidden" name="rodzaj" value="partia";
                        input type="hidden" name="format" value="pdf";
                        label for="partia" { "Starsza partia (nr)" }
                        input #partia name="partia" required placeholder="np. 20250910-B0001";
                        button type="submit" { "Protokół PDF" }
                    }
                }
            }
            section.panel {
                h2 { "Hologramy i druki" }
                table.plain { tbody {
                    @for y in &holo_years { (row(format!("Hologramy {y}"), format!("rodzaj=hologramy&rok={}", enc(y)))) }
                    (row("Rozliczenie druków".into(), "rodzaj=druki".into()))
                } }
            }
        }
    };
    Ok(layout::page(&p, "/raporty", "Raporty", body))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct Download {
    rodzaj: String,
    #[serde(default)]
    rok: Option<String>,
    #[serde(default)]
    klasa: Option<String>,
    #[serde(default)]
    partia: Option<String>,
    format: String,
}

fn which(d: &Download) -> Result<Report, String> {
    let need = |v: &Option<String>, what: &str| {
        v.clone().ok_or_else(|| format!("Brak parametru: {what}."))
    };
    Ok(match d.rodzaj.as_str() {
        "rejestr" => Report::Register {
            year: match &d.rok {
                Some(y) => Some(y.parse().map_err(|_| format!("{y} to nie rok."))?),
                None => None,
            },
        },
        "partia" => Report::Batch {
            batch: need(&d.partia, "partia")?,
        },
        "odbior" => Report::Handover {
            class: need(&d.klasa, "klasa")?,
        },
        "hologramy" => Report::Holograms {
            year: need(&d.rok, "rok")?
                .parse::<SchoolYear>()
                .map_err(|e| crate::web::polish::hologram(&e))?,
        },
        "druki" => Report::Blanks,
        other => return Err(format!("Nie ma raportu {other}.")),
    })
}

pub async fn download(
    State(app): State<App>,
    p: Page,
    Query(d): Query<Download>,
) -> Result<Response, Refusal> {
    let report = which(&d).map_err(Refusal::Invalid)?;
    let table = match catalogue::build(&app.store, &app.settings.school, &report).await {
        Ok(t) => t,
        Err(ReportError::Empty(_)) => {
            return Ok(layout::redirect(
                "/raporty",
                false,
                "Ten raport byłby pusty: nie ma w nim jeszcze żadnych danych.",
            ))
        }
        Err(ReportError::Store(e)) => return crate::web::refused("/raporty", e),
    };
    let stem = report.file_stem();
    let (bytes, mime, ext) = match d.format.as_str() {
        "pdf" => {
            let t = table.clone();
            let bytes = tokio::task::spawn_blocking(move || pdf(&t, &catalogue::today()))
                .await
                .map_err(|e| Refusal::Internal(e.to_string()))?
                .map_err(Refusal::Internal)?;
            (bytes, "application/pdf", "pdf")
        }
        "csv" => (csv(&table), "text/csv; charset=utf-8", "csv"),
        _ => {
            return Err(Refusal::Invalid(
                "Raport jest w formacie pdf albo csv.".into(),
            ))
        }
    };
    app.store
        .audit(
            &p.user.login,
            "web",
            "report.download",
            Some(&format!("{stem}.{ext}")),
            None,
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
