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
/// Each further line of a wrapped cell.
const LINE_H: f32 = 3.6;
const TEXT_PT: f32 = 8.5;
/// Where the table must end, above the footer.
const BOTTOM: f32 = PAGE_H - MARGIN - 4.0;

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

/// Breaks `text` into lines of at most `max` mm: at spaces where it can,
/// inside a word only when the word alone is wider. Nothing is ever cut or
/// abbreviated: a register records a name whole.
fn wrap(font: &mut Widths, text: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if font.mm(&candidate, size) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: split it where it must be.
        for c in word.chars() {
            line.push(c);
            if font.mm(&line, size) > max && line.chars().count() > 1 {
                let last = line.pop().expect("two characters");
                lines.push(std::mem::take(&mut line));
                line.push(last);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A table row's height for `lines` lines of text.
fn row_height(lines: usize) -> f32 {
    ROW_H + (lines.max(1) - 1) as f32 * LINE_H
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

    /// A table row: one text section, each cell's lines placed relative
    /// to the one before (`Td` moves from the last line's start), a cell's
    /// lines one after another so that its text reads whole, left to right
    /// (a copy, a search, a screen reader). Ten thousand rows of ten cells
    /// were a hundred thousand sections.
    fn row(&mut self, y: f32, cells: &[(f32, &[String])]) {
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.regular.clone()),
            size: Pt(TEXT_PT),
        });
        let mut at = (0.0, 0.0);
        for (x, lines) in cells {
            for (l, text) in lines.iter().enumerate() {
                if text.is_empty() {
                    continue;
                }
                let to = (pt(*x).0, pt(PAGE_H - y - l as f32 * LINE_H).0);
                self.ops.push(Op::SetTextCursor {
                    pos: Point {
                        x: Pt(to.0 - at.0),
                        y: Pt(to.1 - at.1),
                    },
                });
                at = to;
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
    let full = PAGE_W - 2.0 * MARGIN;
    // Everything wraps, nothing is cut: the title, the lines under it, the
    // headings, every cell, the lines after, who signs.
    let title = wrap(&mut bold_metrics, &t.title, 14.0, full);
    let subtitle: Vec<String> = t
        .subtitle
        .iter()
        .flat_map(|l| wrap(&mut metrics, l, 9.5, full))
        .collect();
    let shown: Vec<(usize, f32)> = t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, (_, w))| *w > 0.0)
        .map(|(i, (_, w))| (i, *w))
        .collect();
    let headings: Vec<Vec<String>> = shown
        .iter()
        .map(|(i, w)| wrap(&mut bold_metrics, &t.columns[*i].0, TEXT_PT, w - 1.5))
        .collect();
    let heading_lines = headings.iter().map(Vec::len).max().unwrap_or(1);
    let rows: Vec<Vec<Vec<String>>> = t
        .rows
        .iter()
        .map(|row| {
            shown
                .iter()
                .map(|(i, w)| {
                    wrap(
                        &mut metrics,
                        row.get(*i).map_or("", String::as_str),
                        TEXT_PT,
                        w - 1.5,
                    )
                })
                .collect()
        })
        .collect();
    let after: Vec<String> = t
        .after
        .iter()
        .flat_map(|l| wrap(&mut metrics, l, 9.5, full))
        .collect();
    let slot = full / t.signatures.len().max(1) as f32;
    let signers: Vec<Vec<String>> = t
        .signatures
        .iter()
        .map(|who| wrap(&mut metrics, who, 8.0, slot - 15.0))
        .collect();
    let head_h = 4.0 + 7.0 * title.len() as f32 + 5.0 * subtitle.len() as f32 + 3.0;
    let table_top = MARGIN + head_h;
    let first_row = table_top + row_height(heading_lines);
    // Pages of rows: as many as fit above the footer, each at its height.
    let mut pages_rows: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut y = first_row;
    for (i, r) in rows.iter().enumerate() {
        let h = row_height(r.iter().map(Vec::len).max().unwrap_or(1));
        if y + h > BOTTOM && i > start {
            pages_rows.push(start..i);
            start = i;
            y = first_row;
        }
        y += h;
    }
    pages_rows.push(start..rows.len());
    // The totals and signatures need room under the last rows.
    let tail_h = 3.0
        + 6.0 * after.len() as f32
        + if signers.is_empty() {
            0.0
        } else {
            14.0 + 4.5 + 3.2 * signers.iter().map(Vec::len).max().unwrap_or(1) as f32
        };
    let extra_page = y + tail_h > BOTTOM;
    let pages_total = pages_rows.len() + usize::from(extra_page);
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
        for line in &title {
            w.text(MARGIN, y, 14.0, true, line);
            y += 7.0;
        }
        for line in &subtitle {
            w.text(MARGIN, y, 9.5, false, line);
            y += 5.0;
        }
        y += 3.0;
        if let Some(range) = pages_rows.get(n) {
            for line in 0..heading_lines {
                let mut x = MARGIN;
                for (h, (_, width)) in headings.iter().zip(&shown) {
                    if let Some(text) = h.get(line) {
                        w.text(x, y + line as f32 * LINE_H, TEXT_PT, true, text);
                    }
                    x += width;
                }
            }
            y += row_height(heading_lines);
            w.rule(MARGIN, y - ROW_H + 1.8, PAGE_W - MARGIN);
            for r in &rows[range.clone()] {
                let lines = r.iter().map(Vec::len).max().unwrap_or(1);
                let mut x = MARGIN;
                let mut cells = Vec::new();
                for (cell, (_, width)) in r.iter().zip(&shown) {
                    cells.push((x, cell.as_slice()));
                    x += width;
                }
                w.row(y, &cells);
                y += row_height(lines);
            }
            w.rule(MARGIN, y - ROW_H + 1.8, PAGE_W - MARGIN);
        }
        if n + 1 == pages_total {
            y += 3.0;
            for line in &after {
                w.text(MARGIN, y, 9.5, false, line);
                y += 6.0;
            }
            if !signers.is_empty() {
                y += 14.0;
                for (i, who) in signers.iter().enumerate() {
                    let x = MARGIN + i as f32 * slot;
                    w.rule(x, y, x + slot - 15.0);
                    for (l, line) in who.iter().enumerate() {
                        w.text(x, y + 4.5 + l as f32 * 3.2, 8.0, false, line);
                    }
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
    // Who made it and when, for the reader's document properties: the
    // school (the first line under the title), and now.
    let info = &mut doc.metadata.info;
    info.document_title = t.title.clone();
    info.author = t.subtitle.first().cloned().unwrap_or_default();
    info.creator = "legitka".into();
    info.producer = format!("legitka {}", env!("CARGO_PKG_VERSION"));
    let now = printpdf::OffsetDateTime::now_utc();
    info.creation_date = now;
    info.modification_date = now;
    info.metadata_date = now;
    Ok(doc
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_wraps_whole_within_its_column_and_a_short_one_stays_one_line() {
        let mut font = Widths::new(FONT_REGULAR).unwrap();
        let short = "Łucja Żółkiewska";
        assert_eq!(
            wrap(&mut font, short, TEXT_PT, 60.0),
            vec![short.to_string()]
        );
        let long = "Grzegorz Brzęczyszczykiewicz-Chrząszczewski ".repeat(3);
        let lines = wrap(&mut font, long.trim(), TEXT_PT, 60.0);
        assert!(lines.len() > 1);
        assert!(
            lines.iter().all(|l| font.mm(l, TEXT_PT) <= 60.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), long.trim(), "every letter kept, in order");
        // A word wider than the column is split, not cut.
        let word = "Żółkiewska".repeat(8);
        let lines = wrap(&mut font, &word, TEXT_PT, 20.0);
        assert_eq!(lines.concat(), word);
        assert!(lines.iter().all(|l| font.mm(l, TEXT_PT) <= 20.0));
    }

    #[test]
    fn a_register_of_twenty_thousand_cards_stays_well_under_its_old_size() {
        let t = Table {
            title: "Rejestr wydanych legitymacji szkolnych".into(),
            subtitle: vec![
                "Szkoła Podstawowa nr 7 im. Marii Skłodowskiej-Curie (RSPO 12345)".into(),
            ],
            columns: vec![
                ("Nr legitymacji".into(), 27.0),
                ("Nazwisko i imiona".into(), 52.0),
                ("Klasa".into(), 13.0),
                ("Data".into(), 20.0),
            ],
            rows: (0..20_000)
                .map(|i| {
                    vec![
                        format!("{}/2026", i + 1),
                        format!(
                            "Wiśniewska-Żółkiewska Zofia Maria {}",
                            ["Łucja", "Ńina", "Źdźisława"][i % 3]
                        ),
                        format!("{}{}", 1 + i % 8, ["a", "b"][i % 2]),
                        "01.09.2026".into(),
                    ]
                })
                .collect(),
            ..Table::default()
        };
        let bytes = pdf(&t, "30.11.2026").unwrap();
        // 2.9 MB before the fonts were subset and the rows made one text
        // section each.
        eprintln!("a register of 20,000 rows: {} bytes", bytes.len());
        assert!(bytes.len() < 2_000_000, "{} bytes", bytes.len());
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
