//! Fitting text into a field: set it on as many of the field's lines as
//! print it largest, shrinking down to the legible minimum, otherwise
//! refuse. Never cut.
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

/// What a field's fitting measures first: the whole text and, where the
/// field has several lines, each of its words. Measuring every way of
/// breaking the text would cost the square of its words; words cost their
/// number, and the few breaks worth trying are measured exactly afterwards.
pub fn words_to_measure(text: &str, lines: u8) -> Vec<String> {
    let mut v = vec![text.to_string()];
    if lines >= 2 {
        v.extend(text.split(' ').map(str::to_string));
    }
    v
}

/// For each number of lines from 2 to `lines`, the break of `text` at spaces
/// whose widest line is narrowest, judged from [`words_to_measure`]'s
/// widths. A space's width is what the whole text measures beyond its
/// words, so kerning around spaces is counted too.
pub fn wraps(text: &str, lines: u8, widths: &[f32]) -> Vec<Vec<String>> {
    let words: Vec<&str> = text.split(' ').collect();
    let n = words.len();
    if lines < 2 || n < 2 || widths.len() != n + 1 {
        return Vec::new();
    }
    let space = ((widths[0] - widths[1..].iter().sum::<f32>()) / (n - 1) as f32).max(0.0);
    let mut prefix = vec![0.0f32; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + widths[1 + i];
    }
    // Width of words i..j on one line.
    let run = |i: usize, j: usize| prefix[j] - prefix[i] + space * (j - i - 1) as f32;
    let mut out = Vec::new();
    for k in 2..=usize::from(lines).min(n) {
        // best[l][j]: the narrowest widest line setting words 0..j on l lines.
        let mut best = vec![vec![f32::INFINITY; n + 1]; k + 1];
        let mut cut = vec![vec![0usize; n + 1]; k + 1];
        best[0][0] = 0.0;
        for l in 1..=k {
            for j in l..=n {
                for i in (l - 1)..j {
                    let w = best[l - 1][i].max(run(i, j));
                    if w < best[l][j] {
                        best[l][j] = w;
                        cut[l][j] = i;
                    }
                }
            }
        }
        let mut ends = vec![n];
        for l in (1..=k).rev() {
            let j = *ends.last().expect("one end at least");
            ends.push(cut[l][j]);
        }
        ends.reverse();
        out.push(
            ends.windows(2)
                .map(|w| words[w[0]..w[1]].join(" "))
                .collect(),
        );
    }
    out
}

/// The size `lines` of the given widths (at the reference size) take in a
/// box: the preferred size, or less where the widest line or the lines'
/// height demand it.
pub fn size_for(spec: &FieldSpec, widths: &[f32], px_per_pt: f32, box_w: f32, box_h: f32) -> f32 {
    let widest = widths.iter().copied().fold(0.0f32, f32::max);
    let by_width = if widest > 0.0 {
        box_w * REFERENCE_PX / widest
    } else {
        f32::MAX
    };
    (spec.size * px_per_pt)
        .min(by_width)
        .min(box_h / (LINE_EM * widths.len().max(1) as f32))
}

/// Chooses among ways of setting a field (its lines, with their measured
/// widths) the one printed largest; on a tie, the fewest lines. Below the
/// field's legible minimum the order is refused with the field named.
pub fn fit(
    spec: &FieldSpec,
    options: &[(Vec<String>, Vec<f32>)],
    px_per_pt: f32,
    box_w: f32,
    box_h: f32,
) -> Result<Fitted, Rejection> {
    let min = spec.min_size * px_per_pt;
    let mut best: Option<Fitted> = None;
    for (lines, widths) in options {
        let size = size_for(spec, widths, px_per_pt, box_w, box_h);
        // A hundredth of a pixel is no reason for another line.
        if best.as_ref().is_none_or(|b| size > b.size_px + 0.01) {
            best = Some(Fitted {
                lines: lines.clone(),
                size_px: size,
            });
        }
    }
    match best {
        Some(b) if b.size_px >= min => Ok(b),
        _ => Err(Rejection::new(
            Code::TextOverflow,
            Some(&spec.name),
            &format!(
                "{} does not fit its field in {} line(s) at the smallest legible size ({} pt)",
                spec.name, spec.lines, spec.min_size
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(lines: u8) -> FieldSpec {
        FieldSpec {
            name: "school_name".into(),
            panel: crate::card::template::Panel::Black,
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
            size: 7.0,
            min_size: 5.0,
            lines,
            bold: false,
        }
    }

    #[test]
    fn wraps_keep_every_word_and_balance_the_lines() {
        // Words of 1 unit, spaces of 1 unit: "a b c d e f" is 11 wide.
        let text = "a b c d e f";
        let widths: Vec<f32> = std::iter::once(11.0).chain([1.0; 6]).collect();
        let w = wraps(text, 3, &widths);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], vec!["a b c", "d e f"]);
        assert_eq!(w[1], vec!["a b", "c d", "e f"]);
        assert!(wraps("oneword", 3, &[5.0, 5.0]).is_empty());
    }

    #[test]
    fn the_largest_setting_wins_and_below_the_minimum_is_refused() {
        let px_per_pt = 300.0 / 72.0;
        let s = spec(3);
        // One line would need 4 pt; two lines of half the width reach 7 pt.
        let one = (
            vec!["x".to_string()],
            vec![REFERENCE_PX * 100.0 / (4.0 * px_per_pt)],
        );
        let two = (
            vec!["a".to_string(), "b".to_string()],
            vec![REFERENCE_PX * 50.0 / (7.0 * px_per_pt); 2],
        );
        let f = fit(&s, &[one.clone(), two], px_per_pt, 100.0, 1000.0).unwrap();
        assert_eq!(f.lines.len(), 2);
        assert!((f.size_px - 7.0 * px_per_pt).abs() < 0.01);
        let e = fit(&s, &[one], px_per_pt, 100.0, 1000.0).unwrap_err();
        assert_eq!(e.code, Code::TextOverflow);
        assert_eq!(e.field.as_deref(), Some("school_name"));
    }
}
