//! Fitting text into a field: shrink to the legible minimum, then wrap once
//! where the field allows two lines, otherwise refuse. Never cut.
//!
//! Widths come from the real shaper (usvg with the shipped fonts), measured
//! once at a reference size: advance widths scale linearly with size.

use crate::card::reject::{Code, Rejection};
use crate::card::template::FieldSpec;
use resvg::usvg;
use std::sync::Arc;

/// DejaVu Sans: ascender + descender, in ems; a line's height.
pub const LINE_EM: f32 = 1.164;
pub const ASCENT_EM: f32 = 0.928;
const REFERENCE_PX: f32 = 100.0;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A text element in SVG, at pixel coordinates.
pub fn svg_text(
    id: &str,
    x: f32,
    baseline: f32,
    size_px: f32,
    bold: bool,
    fill: &str,
    s: &str,
) -> String {
    format!(
        r#"<text id="{id}" x="{x:.2}" y="{baseline:.2}" font-family="DejaVu Sans" font-size="{size_px:.3}" font-weight="{}" fill="{fill}" xml:space="preserve">{}</text>"#,
        if bold { "bold" } else { "normal" },
        escape(s)
    )
}

/// Advance widths of `texts` at the reference size, in one shaping pass.
pub fn measure(
    fontdb: &Arc<usvg::fontdb::Database>,
    texts: &[(String, bool)],
) -> Result<Vec<f32>, usvg::Error> {
    let mut svg =
        String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">"#);
    for (i, (t, bold)) in texts.iter().enumerate() {
        svg.push_str(&svg_text(
            &format!("m{i}"),
            0.0,
            REFERENCE_PX,
            REFERENCE_PX,
            *bold,
            "#000",
            t,
        ));
    }
    svg.push_str("</svg>");
    let opts = usvg::Options {
        fontdb: fontdb.clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(&svg, &opts)?;
    Ok((0..texts.len())
        .map(|i| match tree.node_by_id(&format!("m{i}")) {
            Some(usvg::Node::Text(t)) => t.bounding_box().width(),
            // A text with nothing to draw has no node at all.
            _ => 0.0,
        })
        .collect())
}

/// A field's text as it will be printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub lines: Vec<String>,
    pub size_px: f32,
}

/// The candidate splits of a text into two lines, at each space.
fn splits(text: &str) -> Vec<(String, String)> {
    text.char_indices()
        .filter(|(_, c)| *c == ' ')
        .map(|(i, _)| (text[..i].to_string(), text[i + 1..].to_string()))
        .collect()
}

/// Everything a field's fitting needs measured, and how to read the answers.
pub fn candidates(text: &str, lines: u8) -> Vec<String> {
    let mut v = vec![text.to_string()];
    if lines >= 2 {
        for (a, b) in splits(text) {
            v.push(a);
            v.push(b);
        }
    }
    v
}

/// Chooses size and lines from the widths of [`candidates`].
pub fn fit(
    spec: &FieldSpec,
    text: &str,
    widths: &[f32],
    px_per_pt: f32,
    box_w: f32,
    box_h: f32,
) -> Result<Fitted, Rejection> {
    let preferred = spec.size * px_per_pt;
    let min = spec.min_size * px_per_pt;
    let size_for = |w100: f32, n: f32| -> f32 {
        let by_width = if w100 > 0.0 {
            box_w * REFERENCE_PX / w100
        } else {
            f32::MAX
        };
        preferred.min(by_width).min(box_h / (LINE_EM * n))
    };
    let one = size_for(widths[0], 1.0);
    if one >= min {
        return Ok(Fitted {
            lines: vec![text.to_string()],
            size_px: one,
        });
    }
    if spec.lines >= 2 {
        let best = splits(text)
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let widest = widths[1 + 2 * i].max(widths[2 + 2 * i]);
                (size_for(widest, 2.0), a, b)
            })
            .max_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((size, a, b)) = best {
            if size >= min {
                return Ok(Fitted {
                    lines: vec![a, b],
                    size_px: size,
                });
            }
        }
    }
    Err(Rejection::new(
        Code::TextOverflow,
        Some(&spec.name),
        &format!(
            "{} does not fit its field at the smallest legible size ({} pt)",
            spec.name, spec.min_size
        ),
    ))
}
