//! Card templates: SVG files (editable in Inkscape) that place the variable
//! data on a blank. Fields are rectangles bound by id; the group around an
//! element names the panel it goes to, so nothing about panels is decided in
//! Rust. The `blank` group is the pre-printed blank, shown in previews and
//! proofs and never printed.

use crate::card::geometry::{Rect, CARD_H_MM, CARD_W_MM};
use crate::card::order::CardData;
use resvg::usvg::roxmltree;
use std::fmt;

pub const NS: &str = "https://legitka.invalid/template/1";
/// The photo field of every pattern (contract: 19 x 26 mm).
pub const PHOTO_W_MM: f32 = 19.0;
pub const PHOTO_H_MM: f32 = 26.0;
/// The most lines a field may wrap onto: a school's name takes three.
pub const MAX_LINES: u8 = 4;
/// Fonts shipped with legitka; a template may use only these.
pub const FONTS: &[&str] = &["DejaVu Sans"];

/// Where an element is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Preview and proof only.
    Blank,
    Colour,
    Black,
    Overlay,
}

impl Panel {
    fn parse(s: &str) -> Option<Panel> {
        Some(match s {
            "blank" => Panel::Blank,
            "colour" => Panel::Colour,
            "black" => Panel::Black,
            "overlay" => Panel::Overlay,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub panel: Panel,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// Preferred size in points.
    pub size: f32,
    /// Smallest legible size in points; below it the order is rejected.
    pub min_size: f32,
    pub lines: u8,
    pub bold: bool,
}

impl FieldSpec {
    pub fn rect(&self) -> Rect {
        Rect {
            x: self.x,
            y: self.y,
            w: self.w,
            h: self.h,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Template {
    pub file: String,
    pub pattern: String,
    pub title: String,
    pub photo: Rect,
    pub photo_panel: Panel,
    pub fields: Vec<FieldSpec>,
    /// Where the overlay leaves the card bare.
    pub holes: Vec<Rect>,
    /// The template with only its blank group: what the blank looks like.
    pub blank_svg: String,
}

/// A blank pattern the station has a card layout for: the only thing a
/// delivery of numbered blanks may be recorded under. A typo (`MEIN-I/1`)
/// would account blanks that no card can be printed on, and every card
/// would then print without a serial. Made by [`Template::known`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPattern(String);

impl KnownPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KnownPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    /// This template's pattern, as the blanks register may record it.
    pub fn known(&self) -> KnownPattern {
        KnownPattern(self.pattern.clone())
    }
}

/// One thing wrong with a template, with the file and element.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub element: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.element {
            Some(e) => write!(f, "{}: element {e:?}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

fn num(node: roxmltree::Node, attr: &str) -> Option<f32> {
    node.attribute(attr)
        .and_then(|v| v.trim().trim_end_matches("mm").parse().ok())
}

fn panel_of(node: roxmltree::Node) -> Option<Panel> {
    node.ancestors()
        .find_map(|a| a.attribute((NS, "panel")))
        .and_then(Panel::parse)
}

/// Parses a template; every problem found is reported, not just the first.
pub fn parse(file: &str, text: &str) -> Result<Template, Vec<Problem>> {
    let problem = |element: Option<&str>, message: String| Problem {
        file: file.to_string(),
        element: element.map(str::to_string),
        message,
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => return Err(vec![problem(None, format!("not valid SVG/XML: {e}"))]),
    };
    let root = doc.root_element();
    let mut problems = Vec::new();
    let pattern = root
        .attribute((NS, "pattern"))
        .unwrap_or_default()
        .to_string();
    if pattern.is_empty() {
        problems.push(problem(
            None,
            "the <svg> element needs legitka:pattern (e.g. MEiN-I/1)".into(),
        ));
    }
    let mut fields = Vec::new();
    let mut photo = None;
    let mut holes = Vec::new();
    let mut cut = Vec::new();
    for node in root.descendants().filter(|n| n.is_element()) {
        let id = node.attribute("id");
        if let Some(p) = node.attribute((NS, "panel")) {
            match Panel::parse(p) {
                None => problems.push(problem(
                    id,
                    format!("unknown panel {p:?}: use blank, colour, black or overlay"),
                )),
                Some(Panel::Blank) => {}
                // Everything but the blank is cut out of the blank's SVG.
                Some(_) => cut.push(node.range()),
            }
        }
        if let Some(family) = node.attribute("font-family") {
            let family = family.trim_matches(|c| c == '\'' || c == '"');
            if !FONTS.contains(&family) {
                problems.push(problem(
                    id,
                    format!("font {family:?} is not shipped; use one of {FONTS:?}"),
                ));
            }
        }
        let rect = || -> Option<Rect> {
            Some(Rect {
                x: num(node, "x")?,
                y: num(node, "y")?,
                w: num(node, "width")?,
                h: num(node, "height")?,
            })
        };
        if node.attribute((NS, "hole")).is_some() {
            match rect() {
                Some(r) => holes.push(r),
                None => problems.push(problem(
                    id,
                    "a hole must be a rect with x, y, width and height".into(),
                )),
            }
        }
        let Some(name) = node.attribute((NS, "field")) else {
            continue;
        };
        let Some(r) = rect() else {
            problems.push(problem(
                Some(name),
                "a field must be a rect with x, y, width and height".into(),
            ));
            continue;
        };
        let inside = r.x >= 0.0
            && r.y >= 0.0
            && r.x + r.w <= CARD_W_MM + 1e-3
            && r.y + r.h <= CARD_H_MM + 1e-3;
        if !inside {
            problems.push(problem(
                Some(name),
                format!(
                    "{:.2} x {:.2} mm at ({:.2}, {:.2}) leaves the card",
                    r.w, r.h, r.x, r.y
                ),
            ));
        }
        let panel = panel_of(node);
        if name == "photo" {
            if (r.w - PHOTO_W_MM).abs() > 0.01 || (r.h - PHOTO_H_MM).abs() > 0.01 {
                problems.push(problem(
                    Some(name),
                    format!("the photo field is 19 x 26 mm, not {:.2} x {:.2}", r.w, r.h),
                ));
            }
            match panel {
                Some(p @ (Panel::Colour | Panel::Black)) => photo = Some((r, p)),
                _ => problems.push(problem(
                    Some(name),
                    "the photo belongs in the colour or black panel".into(),
                )),
            }
            continue;
        }
        if !CardData::FIELDS.contains(&name) {
            problems.push(problem(
                Some(name),
                format!(
                    "unknown field; known: photo, {}",
                    CardData::FIELDS.join(", ")
                ),
            ));
            continue;
        }
        let points = |attr: &str| {
            node.attribute((NS, attr))
                .and_then(|v| v.parse::<f32>().ok())
        };
        let (Some(size), Some(min_size)) = (points("size"), points("min-size")) else {
            problems.push(problem(
                Some(name),
                "a text field needs legitka:size and legitka:min-size (points)".into(),
            ));
            continue;
        };
        let lines: u8 = node
            .attribute((NS, "lines"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        if !(1..=MAX_LINES).contains(&lines) {
            problems.push(problem(
                Some(name),
                format!("legitka:lines is 1 to {MAX_LINES}"),
            ));
        }
        if min_size > size {
            problems.push(problem(
                Some(name),
                format!("min-size {min_size} is above size {size}"),
            ));
        }
        let needed_mm =
            crate::card::render::text::LINE_EM * min_size * 25.4 / 72.0 * f32::from(lines);
        if needed_mm > r.h + 1e-3 {
            problems.push(problem(Some(name), format!("{lines} line(s) at {min_size} pt need {needed_mm:.2} mm; the field is {:.2} mm high", r.h)));
        }
        match panel {
            Some(p @ (Panel::Colour | Panel::Black)) => fields.push(FieldSpec {
                name: name.to_string(),
                panel: p,
                x: r.x,
                y: r.y,
                w: r.w,
                h: r.h,
                size,
                min_size,
                lines,
                bold: node.attribute((NS, "weight")) == Some("bold"),
            }),
            _ => problems.push(problem(
                Some(name),
                "text goes to the colour or black panel".into(),
            )),
        }
    }
    for f in CardData::FIELDS {
        match fields.iter().filter(|s| s.name == *f).count() {
            1 => {}
            0 => problems.push(problem(
                Some(f),
                "missing: every template places this field".into(),
            )),
            n => problems.push(problem(Some(f), format!("placed {n} times"))),
        }
    }
    if photo.is_none()
        && !problems
            .iter()
            .any(|p| p.element.as_deref() == Some("photo"))
    {
        problems.push(problem(
            Some("photo"),
            "missing: a rect with legitka:field=\"photo\"".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (photo, photo_panel) = photo.expect("checked above");
    cut.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut blank_svg = text.to_string();
    for r in cut {
        blank_svg.replace_range(r, "");
    }
    Ok(Template {
        file: file.to_string(),
        title: root
            .attribute((NS, "title"))
            .unwrap_or(&pattern)
            .to_string(),
        pattern,
        photo,
        photo_panel,
        fields,
        holes,
        blank_svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERAL: &str = include_str!("../../profiles/templates/mein-i-1.svg");

    #[test]
    fn the_general_template_binds_every_field() {
        let t = parse("mein-i-1.svg", GENERAL).unwrap();
        assert_eq!(t.pattern, "MEiN-I/1");
        assert_eq!(t.fields.len(), CardData::FIELDS.len());
        assert_eq!(t.photo_panel, Panel::Colour);
        assert!(t.fields.iter().all(|f| f.panel == Panel::Black));
        assert!(t.blank_svg.contains("LEGITYMACJA SZKOLNA"));
        assert!(
            !t.blank_svg.contains("legitka:field"),
            "fields are not part of the blank"
        );
    }

    #[test]
    fn problems_name_the_file_and_the_element() {
        let broken = GENERAL
            .replace(
                r#"id="last_name" legitka:field="last_name""#,
                r#"id="last_name" legitka:field="lastname""#,
            )
            .replace(
                r#"width="19.0" height="26.0""#,
                r#"width="20" height="26.0""#,
            )
            .replace(
                r#"x="61.0" y="47.3" width="22.0""#,
                r#"x="70.0" y="47.3" width="22.0""#,
            )
            .replace(
                "font-family=\"DejaVu Sans\" font-weight=\"bold\"",
                "font-family=\"Comic Sans MS\" font-weight=\"bold\"",
            );
        let problems = parse("broken.svg", &broken).unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has(r#"broken.svg: element "lastname": unknown field"#),
            "{text:#?}"
        );
        assert!(has(r#"element "last_name": missing"#), "{text:#?}");
        assert!(
            has(r#"element "photo": the photo field is 19 x 26 mm"#),
            "{text:#?}"
        );
        assert!(
            has(r#"element "issue_date": 22.00 x 3.40 mm at (70.00, 47.30) leaves the card"#),
            "{text:#?}"
        );
        assert!(
            has(r#"element "blank-title": font "Comic Sans MS" is not shipped"#),
            "{text:#?}"
        );
    }
}
