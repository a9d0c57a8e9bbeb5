//! Reports a school keeps on paper: a table on A4 landscape pages in Polish
//! (title, the school, column headings on every page, page numbers, the date
//! of printing, signature lines), and the same rows as CSV for Excel.
//!
//! The shipped font is embedded, so Polish letters print and stay
//! extractable (copy, search).

pub mod catalogue;

use crate::card::render::{FONT_BOLD, FONT_REGULAR};
use printpdf::{
    Color, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rgb, TextItem,
};

const PAGE_W: f32 = 297.0;
const PAGE_H: f32 = 210.0;
const MARGIN: f32 = 14.0;
const ROW_H: f32 = 6.0;
const TEXT_PT: f32 = 8.5;

/// One report: a title, lines under it, a table, lines after it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub subtitle: Vec<String>,
    /// Heading and width in mm; the widths should fill 269 mm. A column of
    /// width 0 is in the CSV only (the page has no room for it).
    pub columns: Vec<(String, f32)>,
    pub rows: Vec<Vec<String>>,
    /// Totals and notes after the table.
    pub after: Vec<String>,
    /// Who signs (a line is drawn above each name).
    pub signatures: Vec<String>,
}

/// The CSV a school secretary opens in Excel: UTF-8 with a byte-order mark
/// (without it Excel reads Polish letters as Windows-1250), `;` as separator
/// (Excel's in a Polish locale).
pub fn csv(t: &Table) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(t.columns.iter().map(|(h, _)| h));
    for r in &t.rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

fn pt(mm: f32) -> Pt {
    Pt(mm * 72.0 / 25.4)
}

/// Width of `text` in mm at `size` points in `font`.
fn width_mm(font: &skrifa::FontRef, text: &str, size: f32) -> f32 {
    use skrifa::MetadataProvider;
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(
        skrifa::instance::Size::new(size),
        skrifa::instance::LocationRef::default(),
    );
    let w: f32 = text
        .chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size * 0.6)
        })
        .sum();
    w * 25.4 / 72.0
}

/// Cuts `text` with an ellipsis to fit `max` mm.
fn fit(font: &skrifa::FontRef, text: &str, size: f32, max: f32) -> String {
    if width_mm(font, text, size) <= max {
        return text.to_string();
    }
    let mut s: String = text.to_string();
    while !s.is_empty() && width_mm(font, &format!("{s}…"), size) > max {
        s.pop();
    }
    format!("{s}…")
}

struct Writer<'a> {
    ops: Vec<Op>,
    regular: printpdf::FontId,
    bold: printpdf::FontId,
    metrics: skrifa::FontRef<'a>,
    bold_metrics: skrifa::FontRef<'a>,
}

impl Writer<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(if bold {
                self.bold.clone()
            } else {
                self.regular.clone()
            }),
            size: Pt(size),
        });
        self.ops.push(Op::SetTextCursor {
            pos: Point {
                x: pt(x),
                y: pt(PAGE_H - y),
            },
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(s.to_string())],
        });
        self.ops.push(Op::EndTextSection);
    }

    fn rule(&mut self, x1: f32, y: f32, x2: f32) {
        let p = |x| LinePoint {
            p: Point {
                x: pt(x),
                y: pt(PAGE_H - y),
            },
            bezier: false,
        };
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![p(x1), p(x2)],
                is_closed: false,
            },
        });
    }
}

/// The table as a PDF: A4 landscape, headings repeated, `Strona n z m`.
pub fn pdf(t: &Table, printed_on: &str) -> Result<Vec<u8>, String> {
    let mut doc = PdfDocument::new(&t.title);
    let mut warnings = Vec::new();
    let regular = ParsedFont::from_bytes(FONT_REGULAR, 0, &mut warnings)
        .ok_or("the regular font does not parse")?;
    let bold = ParsedFont::from_bytes(FONT_BOLD, 0, &mut warnings)
        .ok_or("the bold font does not parse")?;
    let (regular, bold) = (doc.add_font(&regular), doc.add_font(&bold));
    let metrics = skrifa::FontRef::new(FONT_REGULAR).map_err(|e| e.to_string())?;
    let bold_metrics = skrifa::FontRef::new(FONT_BOLD).map_err(|e| e.to_string())?;
    let head_h = 14.0 + 5.0 * t.subtitle.len() as f32 + 4.0;
    let per_page = (((PAGE_H - MARGIN - head_h - 12.0) / ROW_H).floor() as usize).max(1);
    let tail_lines = t.after.len() + if t.signatures.is_empty() { 0 } else { 4 };
    let mut chunks: Vec<&[Vec<String>]> = t.rows.chunks(per_page).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    // The totals and signatures need room under the last rows.
    let last_room = per_page.saturating_sub(chunks.last().map_or(0, |c| c.len()));
    let extra_page = last_room * (ROW_H as usize) < tail_lines * 6;
    let pages_total = chunks.len() + usize::from(extra_page);
    let black = Color::Rgb(Rgb {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        icc_profile: None,
    });
    let mut pages = Vec::new();
    for n in 0..pages_total {
        let mut w = Writer {
            ops: vec![
                Op::SetFillColor { col: black.clone() },
                Op::SetOutlineColor { col: black.clone() },
                Op::SetOutlineThickness { pt: Pt(0.4) },
            ],
            regular: regular.clone(),
            bold: bold.clone(),
            metrics: metrics.clone(),
            bold_metrics: bold_metrics.clone(),
        };
        let mut y = MARGIN + 4.0;
        w.text(MARGIN, y, 14.0, true, &t.title);
        y += 7.0;
        for s in &t.subtitle {
            w.text(MARGIN, y, 9.5, false, s);
            y += 5.0;
        }
        y += 3.0;
        let chunk: &[Vec<String>] = chunks.get(n).copied().unwrap_or(&[]);
        if n < chunks.len() {
            let mut x = MARGIN;
            for (h, width) in t.columns.iter().filter(|(_, w)| *w > 0.0) {
                let h = fit(&w.bold_metrics, h, TEXT_PT, width - 1.5);
                w.text(x, y, TEXT_PT, true, &h);
                x += width;
            }
            w.rule(MARGIN, y + 1.8, PAGE_W - MARGIN);
            y += ROW_H;
            for row in chunk {
                let mut x = MARGIN;
                for (cell, (_, width)) in row.iter().zip(&t.columns).filter(|(_, (_, w))| *w > 0.0)
                {
                    let c = fit(&w.metrics, cell, TEXT_PT, width - 1.5);
                    w.text(x, y, TEXT_PT, false, &c);
                    x += width;
                }
                y += ROW_H;
            }
            w.rule(MARGIN, y - ROW_H + 1.8, PAGE_W - MARGIN);
        }
        if n + 1 == pages_total {
            y += 3.0;
            for line in &t.after {
                w.text(MARGIN, y, 9.5, false, line);
                y += 6.0;
            }
            if !t.signatures.is_empty() {
                y += 14.0;
                let slot = (PAGE_W - 2.0 * MARGIN) / t.signatures.len() as f32;
                for (i, who) in t.signatures.iter().enumerate() {
                    let x = MARGIN + i as f32 * slot;
                    w.rule(x, y, x + slot - 15.0);
                    w.text(x, y + 4.5, 8.0, false, who);
                }
            }
        }
        let foot = format!(
            "Wydrukowano {printed_on} · legitka · Strona {} z {pages_total}",
            n + 1
        );
        let fw = width_mm(&w.metrics, &foot, 7.5);
        w.text(PAGE_W - MARGIN - fw, PAGE_H - 7.0, 7.5, false, &foot);
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), w.ops));
    }
    Ok(doc
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_to_its_column_and_a_short_one_is_not() {
        let font = skrifa::FontRef::new(FONT_REGULAR).unwrap();
        let short = "Łucja Żółkiewska";
        assert_eq!(fit(&font, short, TEXT_PT, 60.0), short);
        let long = "Grzegorz Brzęczyszczykiewicz-Chrząszczewski ".repeat(3);
        let cut = fit(&font, &long, TEXT_PT, 60.0);
        assert!(cut.ends_with('…') && width_mm(&font, &cut, TEXT_PT) <= 60.0);
    }

    #[test]
    fn the_csv_opens_in_excel_with_polish_letters() {
        let t = Table {
            columns: vec![("Nazwisko".into(), 10.0), ("Klasa".into(), 10.0)],
            rows: vec![vec!["Żółć".into(), "4b".into()]],
            ..Table::default()
        };
        let bytes = csv(&t);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        assert_eq!(
            String::from_utf8(bytes[3..].to_vec()).unwrap(),
            "Nazwisko;Klasa\nŻółć;4b\n"
        );
    }
}
