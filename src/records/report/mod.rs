//! Reports a school keeps on paper: a table on A4 landscape pages in Polish
//! (title, the school, column headings on every page, page numbers, the date
//! of printing, signature lines), and the same rows as CSV for Excel.
//!
//! The shipped font is embedded, so Polish letters print and stay
//! extractable (copy, search).

pub mod catalogue;

use crate::card::render::font::{subset, Widths};
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
        let _ = w.write_record(r.iter().map(|c| super::spreadsheet::safe(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

fn pt(mm: f32) -> Pt {
    Pt(mm * 72.0 / 25.4)
}

/// Cuts `text` with an ellipsis to fit `max` mm.
fn fit(font: &mut Widths, text: &str, size: f32, max: f32) -> String {
    if font.mm(text, size) <= max {
        return text.to_string();
    }
    let mut s: String = text.to_string();
    while !s.is_empty() && font.mm(&format!("{s}…"), size) > max {
        s.pop();
    }
    format!("{s}…")
}

struct Writer {
    ops: Vec<Op>,
    regular: printpdf::FontId,
    bold: printpdf::FontId,
}

impl Writer {
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

    /// A table row: one text section, each cell placed relative to the
    /// one before (`Td` moves from the last line's start). Ten thousand
    /// rows of ten cells were a hundred thousand sections.
    fn row(&mut self, y: f32, cells: &[(f32, String)]) {
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.regular.clone()),
            size: Pt(TEXT_PT),
        });
        let mut at = (0.0, 0.0);
        for (i, (x, text)) in cells.iter().enumerate() {
            let to = if i == 0 {
                (pt(*x).0, pt(PAGE_H - y).0)
            } else {
                (pt(*x).0, at.1)
            };
            self.ops.push(Op::SetTextCursor {
                pos: Point {
                    x: Pt(to.0 - at.0),
                    y: Pt(to.1 - at.1),
                },
            });
            at = to;
            if !text.is_empty() {
                self.ops.push(Op::ShowText {
                    items: vec![TextItem::Text(text.clone())],
                });
            }
        }
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
    // Only the characters the report prints: the whole fonts made a
    // five-row register 747 KB, and compressing them was most of a long
    // register's time.
    let chars: std::collections::BTreeSet<char> = std::iter::once(t.title.as_str())
        .chain(t.subtitle.iter().map(String::as_str))
        .chain(t.columns.iter().map(|(h, _)| h.as_str()))
        .chain(t.rows.iter().flatten().map(String::as_str))
        .chain(t.after.iter().map(String::as_str))
        .chain(t.signatures.iter().map(String::as_str))
        .chain([printed_on, "Wydrukowano · legitka · Strona z 0123456789…"])
        .flat_map(str::chars)
        .collect();
    let regular = ParsedFont::from_bytes(&subset(FONT_REGULAR, &chars)?, 0, &mut warnings)
        .ok_or("the regular font does not parse")?;
    let bold = ParsedFont::from_bytes(&subset(FONT_BOLD, &chars)?, 0, &mut warnings)
        .ok_or("the bold font does not parse")?;
    let (regular, bold) = (doc.add_font(&regular), doc.add_font(&bold));
    let mut metrics = Widths::new(FONT_REGULAR)?;
    let mut bold_metrics = Widths::new(FONT_BOLD)?;
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
                let h = fit(&mut bold_metrics, h, TEXT_PT, width - 1.5);
                w.text(x, y, TEXT_PT, true, &h);
                x += width;
            }
            w.rule(MARGIN, y + 1.8, PAGE_W - MARGIN);
            y += ROW_H;
            for row in chunk {
                let mut x = MARGIN;
                let mut cells = Vec::new();
                for (cell, (_, width)) in row.iter().zip(&t.columns).filter(|(_, (_, w))| *w > 0.0)
                {
                    cells.push((x, fit(&mut metrics, cell, TEXT_PT, width - 1.5)));
                    x += width;
                }
                w.row(y, &cells);
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
        let fw = metrics.mm(&foot, 7.5);
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
        let mut font = Widths::new(FONT_REGULAR).unwrap();
        let short = "Łucja Żółkiewska";
        assert_eq!(fit(&mut font, short, TEXT_PT, 60.0), short);
        let long = "Grzegorz Brzęczyszczykiewicz-Chrząszczewski ".repeat(3);
        let cut = fit(&mut font, &long, TEXT_PT, 60.0);
        assert!(cut.ends_with('…') && font.mm(&cut, TEXT_PT) <= 60.0);
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
