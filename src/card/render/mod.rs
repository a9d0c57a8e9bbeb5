//! Renders a card in the printer's print technique: the photo in the colour
//! panels, text in black resin, the overlay with the holes the blank needs.
//! Only the variable data is printed; the blank's own print appears in the
//! preview and the proof, never on a panel.

pub mod font;
pub mod pdf;
pub mod text;

use crate::card::geometry::{Rect, CARD_W_MM};
use crate::card::order::CardData;
use crate::card::photo::Photo;
use crate::card::profile::{PrinterProfile, Profiles};
use crate::card::reject::{Code, Rejection};
use crate::card::template::{Panel, Template};
use image::{imageops, Rgb, RgbImage};
use legitka_drivers::{Mono, PanelSet};
use resvg::{tiny_skia, usvg};
use std::sync::Arc;
use thiserror::Error;

pub const FONT_REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub const FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Margin between a field's edge and its text, left and right.
pub const TEXT_INSET_MM: f32 = 0.3;

/// Ribbons whose panels we know how to fill.
pub const KNOWN_RIBBONS: &[&str] = &["YMCKO", "YMCKOK", "KO", "K"];

#[derive(Debug, Error)]
pub enum RenderError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("template: {0}")]
    Template(String),
}

/// A field's text placed on the card.
#[derive(Debug, Clone)]
pub struct Placed {
    pub name: String,
    pub panel: Panel,
    pub lines: Vec<String>,
    pub size_px: f32,
    pub bold: bool,
    /// Where the text starts, inside the box.
    pub text_x_px: f32,
    /// Field box in panel pixels.
    pub x_px: f32,
    pub y_px: f32,
    pub w_px: f32,
    pub h_px: f32,
}

impl Placed {
    /// Baselines of each line, in panel pixels, centred in the box.
    pub fn baselines(&self) -> Vec<f32> {
        let lh = self.size_px * text::LINE_EM;
        let top = self.y_px + (self.h_px - lh * self.lines.len() as f32) / 2.0;
        (0..self.lines.len())
            .map(|i| top + self.size_px * text::ASCENT_EM + lh * i as f32)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub pattern: String,
    pub fields: Vec<Placed>,
}

/// A card ready to print, and what the operator sees of it.
pub struct RenderedCard {
    pub panels: PanelSet,
    pub layout: Layout,
    /// The photo at the field's exact pixels.
    pub photo: RgbImage,
    pub photo_box_px: (u32, u32, u32, u32),
    pub warnings: Vec<String>,
}

/// The contract's name for the field a layout field shows.
pub fn contract_field(name: &str) -> &str {
    match name {
        "first_names" => "student.first_names",
        "last_name" => "student.last_name",
        "birth_date" => "student.birth_date",
        "identity" => "student.pesel",
        "school_name" => "school.name",
        "school_address" => "school.address",
        "headteacher" => "school.headteacher",
        "issue_date" => "card.issue_date",
        "card_number" => "card.number",
        other => other,
    }
}

pub struct Renderer {
    fontdb: Arc<usvg::fontdb::Database>,
    /// Each blank rasterised once: it is the same on every card.
    blanks: std::sync::Mutex<std::collections::HashMap<String, Arc<tiny_skia::Pixmap>>>,
    /// Text widths at the reference size, by text and weight: the school's
    /// name, address and headteacher (and their line splits) are the same
    /// on every card, and shaping them is most of a layout's cost.
    widths: std::sync::Mutex<std::collections::HashMap<(String, bool), f32>>,
    profiles: Profiles,
    printer: PrinterProfile,
}

impl Renderer {
    pub fn new(profiles: Profiles, printer: PrinterProfile) -> Self {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT_REGULAR.to_vec());
        db.load_font_data(FONT_BOLD.to_vec());
        Renderer {
            fontdb: Arc::new(db),
            blanks: Default::default(),
            widths: Default::default(),
            profiles,
            printer,
        }
    }

    pub fn printer(&self) -> &PrinterProfile {
        &self.printer
    }

    /// Every layout this renderer can print, by pattern symbol.
    pub fn patterns(&self) -> impl Iterator<Item = &Template> {
        self.profiles.patterns.values()
    }

    pub fn has_pattern(&self, symbol: &str) -> bool {
        self.profiles.patterns.contains_key(symbol)
    }

    /// A pattern typed by an operator (a delivery of blanks), checked
    /// against the layouts; the error names the ones there are.
    pub fn known_pattern(
        &self,
        symbol: &str,
    ) -> Result<crate::card::template::KnownPattern, String> {
        match self.profiles.patterns.get(symbol.trim()) {
            Some(t) => Ok(t.known()),
            None => {
                let mut known: Vec<&str> =
                    self.profiles.patterns.keys().map(String::as_str).collect();
                known.sort();
                Err(format!(
                    "no card layout for pattern {:?}: this station prints {}",
                    crate::card::reject::clip(symbol, 40),
                    known.join(", ")
                ))
            }
        }
    }

    pub fn pattern(&self, symbol: &str) -> Result<&Template, Rejection> {
        self.profiles.patterns.get(symbol).ok_or_else(|| {
            Rejection::new(
                Code::PatternUnknown,
                Some("pattern"),
                &format!("no template for pattern {symbol:?}"),
            )
        })
    }

    fn rect_px(&self, r: &Rect) -> (f32, f32, f32, f32) {
        let (x, y) = self.printer.px(r.x, r.y);
        (x, y, self.printer.mm(r.w), self.printer.mm(r.h))
    }

    /// Every character must have a glyph in the shipped font, or it would
    /// print as a box.
    fn check_glyphs(&self, field: &str, s: &str) -> Result<(), Rejection> {
        use skrifa::MetadataProvider;
        let font = skrifa::FontRef::new(FONT_REGULAR).expect("the shipped font parses");
        let map = font.charmap();
        match s.chars().find(|c| map.map(*c).is_none()) {
            None => Ok(()),
            Some(c) => Err(Rejection::new(
                Code::Schema,
                Some(contract_field(field)),
                &format!(
                    "{} has a character the card font cannot print: U+{:04X}",
                    contract_field(field),
                    c as u32
                ),
            )),
        }
    }

    /// Places every field's text, or says which field does not fit.
    /// Widths of texts at the reference size, shaping only those not seen.
    fn measure(&self, texts: &[(String, bool)]) -> Result<Vec<f32>, Rejection> {
        const KEEP: usize = 20_000;
        let unknown: Vec<(String, bool)> = {
            let cache = self.widths.lock().expect("width cache");
            texts
                .iter()
                .filter(|t| !cache.contains_key(*t))
                .cloned()
                .collect()
        };
        let fresh = if unknown.is_empty() {
            Ok(Vec::new())
        } else {
            text::measure(&self.fontdb, &unknown)
        }
        .map_err(|e| Rejection::new(Code::Schema, None, &format!("text layout failed: {e}")))?;
        let found: std::collections::HashMap<&(String, bool), f32> =
            unknown.iter().zip(fresh.iter().copied()).collect();
        let mut cache = self.widths.lock().expect("width cache");
        let out: Vec<Option<f32>> = texts
            .iter()
            .map(|t| found.get(t).copied().or_else(|| cache.get(t).copied()))
            .collect();
        if cache.len() + fresh.len() > KEEP {
            cache.clear();
        }
        for (t, w) in unknown.iter().zip(&fresh) {
            cache.insert(t.clone(), *w);
        }
        drop(cache);
        // Another thread may have emptied the cache in between: measure
        // what went missing.
        out.into_iter()
            .zip(texts)
            .map(|(w, t)| match w {
                Some(w) => Ok(w),
                None => text::measure(&self.fontdb, std::slice::from_ref(t))
                    .map(|v| v[0])
                    .map_err(|e| {
                        Rejection::new(Code::Schema, None, &format!("text layout failed: {e}"))
                    }),
            })
            .collect()
    }

    pub fn layout(&self, card: &CardData) -> Result<Layout, Rejection> {
        let pattern = self.pattern(&card.pattern)?;
        let px_per_pt = self.printer.dpi as f32 / 72.0;
        let mut wanted = Vec::new();
        for spec in &pattern.fields {
            if let Some(t) = card.field_text(&spec.name) {
                self.check_glyphs(&spec.name, &t)?;
                wanted.push((spec, t));
            }
        }
        // First the whole texts (and the words of fields with several
        // lines), in one shaping pass; then, in a second, the breaks worth
        // trying for those a single line would shrink.
        let mut all = Vec::new();
        let mut ranges = Vec::new();
        for (spec, t) in &wanted {
            let c = text::words_to_measure(t, spec.lines);
            ranges.push(all.len()..all.len() + c.len());
            all.extend(c.into_iter().map(|s| (s, spec.bold)));
        }
        let widths = self.measure(&all)?;
        let inset = self.printer.mm(TEXT_INSET_MM);
        let mut options = Vec::new();
        let mut more = Vec::new();
        for ((spec, t), range) in wanted.iter().zip(&ranges) {
            let (_, _, w, h) = self.rect_px(&spec.rect());
            let one = vec![(vec![t.clone()], vec![widths[range.start]])];
            let shrunk = text::size_for(spec, &one[0].1, px_per_pt, w - 2.0 * inset, h)
                < spec.size * px_per_pt;
            let wraps = if shrunk {
                text::wraps(t, spec.lines, &widths[range.clone()])
            } else {
                Vec::new()
            };
            more.extend(wraps.iter().flatten().map(|l| (l.clone(), spec.bold)));
            options.push((one, wraps));
        }
        let more_widths = self.measure(&more)?;
        let mut next = more_widths.into_iter();
        let mut fields = Vec::new();
        for ((spec, _), (mut choices, wraps)) in wanted.iter().zip(options) {
            for lines in wraps {
                let w = next.by_ref().take(lines.len()).collect();
                choices.push((lines, w));
            }
            let (x, y, w, h) = self.rect_px(&spec.rect());
            // Glyphs such as J reach left of their advance box: keep a margin
            // so ink never crosses the field.
            let fitted =
                text::fit(spec, &choices, px_per_pt, w - 2.0 * inset, h).map_err(|mut r| {
                    r.field = Some(contract_field(&spec.name).to_string());
                    r
                })?;
            fields.push(Placed {
                name: spec.name.clone(),
                panel: spec.panel,
                lines: fitted.lines,
                size_px: fitted.size_px,
                bold: spec.bold,
                text_x_px: x + inset,
                x_px: x,
                y_px: y,
                w_px: w,
                h_px: h,
            });
        }
        Ok(Layout {
            pattern: card.pattern.clone(),
            fields,
        })
    }

    fn svg_doc(&self, body: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#,
            w = self.printer.width_px,
            h = self.printer.height_px
        )
    }

    fn rasterise(&self, svg: &str) -> Result<tiny_skia::Pixmap, RenderError> {
        let opts = usvg::Options {
            fontdb: self.fontdb.clone(),
            ..Default::default()
        };
        let tree =
            usvg::Tree::from_str(svg, &opts).map_err(|e| RenderError::Template(e.to_string()))?;
        let mut pixmap = tiny_skia::Pixmap::new(self.printer.width_px, self.printer.height_px)
            .ok_or_else(|| RenderError::Template("empty card size".into()))?;
        resvg::render(
            &tree,
            tiny_skia::Transform::identity(),
            &mut pixmap.as_mut(),
        );
        Ok(pixmap)
    }

    fn text_svg(&self, layout: &Layout, panel: Panel, fill: &str) -> String {
        let mut body = String::new();
        for f in layout.fields.iter().filter(|f| f.panel == panel) {
            for (i, (line, base)) in f.lines.iter().zip(f.baselines()).enumerate() {
                body.push_str(&text::svg_text(
                    &format!("{}-{i}", f.name),
                    f.text_x_px,
                    base,
                    f.size_px,
                    f.bold,
                    fill,
                    line,
                ));
            }
        }
        body
    }

    /// The resin panel: the template's black text, one bit per pixel. On a
    /// ribbon without colour, the colour panel's text joins it.
    pub fn black_panel(&self, layout: &Layout) -> Result<Mono, RenderError> {
        // Resin is one bit: anti-aliasing would only be thresholded away.
        let mut body =
            String::from(r#"<g text-rendering="optimizeSpeed" shape-rendering="crispEdges">"#);
        body.push_str(&self.text_svg(layout, Panel::Black, "#000"));
        if !self.printer.has_colour() {
            body.push_str(&self.text_svg(layout, Panel::Colour, "#000"));
        }
        body.push_str("</g>");
        let pixmap = self.rasterise(&self.svg_doc(&body))?;
        let bits = pixmap.pixels().iter().map(|p| p.alpha() >= 128).collect();
        Ok(Mono::from_bits(pixmap.width(), pixmap.height(), bits))
    }

    pub fn render(&self, card: &CardData, photo: &Photo) -> Result<RenderedCard, RenderError> {
        let pattern = self.pattern(&card.pattern)?;
        let (px, py, pw, ph) = self.rect_px(&pattern.photo);
        let (px, py, pw, ph) = (
            px.round() as u32,
            py.round() as u32,
            pw.floor() as u32,
            ph.floor() as u32,
        );
        // The photo and the text are independent: prepare them side by side.
        let (fitted, text) = std::thread::scope(|s| {
            let photo = s.spawn(|| photo.fitted(pw, ph));
            let text = self.layout(card).map_err(RenderError::from).and_then(|l| {
                let k = self.black_panel(&l)?;
                Ok((l, k))
            });
            (photo.join().expect("photo thread panicked"), text)
        });
        let (layout, mut black) = text?;
        let fitted = fitted?;
        let (w, h) = (self.printer.width_px, self.printer.height_px);
        let mut warnings = Vec::new();

        let mut colour = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
        let photo_in_colour = pattern.photo_panel == Panel::Colour && self.printer.has_colour();
        if photo_in_colour {
            imageops::replace(&mut colour, &fitted, i64::from(px), i64::from(py));
        }
        if layout.fields.iter().any(|f| f.panel == Panel::Colour) && self.printer.has_colour() {
            let text =
                self.rasterise(&self.svg_doc(&self.text_svg(&layout, Panel::Colour, "#000")))?;
            for (x, y, p) in colour.enumerate_pixels_mut() {
                let a = u16::from(text.pixel(x, y).map_or(0, |t| t.alpha()));
                p.0 = p.0.map(|c| ((u16::from(c) * (255 - a)) / 255) as u8);
            }
        }
        let colour = if photo_in_colour {
            Some(colour)
        } else if self.printer.has_colour() {
            // The template puts the photo in resin.
            dither_into(&mut black, &fitted, px, py);
            Some(colour)
        } else {
            // A monochrome ribbon: the photo goes to resin, dithered.
            warnings.push(format!(
                "ribbon {} has no colour panels: the photo is printed dithered in black",
                self.printer.ribbon
            ));
            dither_into(&mut black, &fitted, px, py);
            None
        };
        let overlay = self.printer.has_overlay().then(|| {
            let mut o = Mono::filled(w, h);
            for hole in self.printer.overlay_holes.iter().chain(&pattern.holes) {
                let (hx, hy, hw, hh) = self.rect_px(hole);
                for y in hy.max(0.0) as u32..((hy + hh) as u32).min(h) {
                    for x in hx.max(0.0) as u32..((hx + hw) as u32).min(w) {
                        o.set(x, y, false);
                    }
                }
            }
            o
        });
        let panels = PanelSet {
            colour,
            black: Some(black),
            overlay,
        };
        Ok(RenderedCard {
            panels,
            layout,
            photo: fitted,
            photo_box_px: (px, py, pw, ph),
            warnings,
        })
    }

    /// The blank alone, rasterised at the printer's resolution over the
    /// full-bleed panel: white outside the card.
    pub fn blank_image(&self, pattern: &Template) -> Result<Arc<tiny_skia::Pixmap>, RenderError> {
        let mut cache = self.blanks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&pattern.pattern) {
            return Ok(p.clone());
        }
        let p = Arc::new(self.rasterise_blank(pattern)?);
        cache.insert(pattern.pattern.clone(), p.clone());
        Ok(p)
    }

    fn rasterise_blank(&self, pattern: &Template) -> Result<tiny_skia::Pixmap, RenderError> {
        let opts = usvg::Options {
            fontdb: self.fontdb.clone(),
            ..Default::default()
        };
        let tree = usvg::Tree::from_str(&pattern.blank_svg, &opts)
            .map_err(|e| RenderError::Template(format!("{}: {e}", pattern.file)))?;
        let mut pixmap = tiny_skia::Pixmap::new(self.printer.width_px, self.printer.height_px)
            .ok_or_else(|| RenderError::Template("empty card size".into()))?;
        pixmap.fill(tiny_skia::Color::WHITE);
        let scale = self.printer.mm(CARD_W_MM) / tree.size().width();
        let t = tiny_skia::Transform::from_row(
            scale,
            0.0,
            0.0,
            scale,
            self.printer.card_offset_x_px,
            self.printer.card_offset_y_px,
        );
        resvg::render(&tree, t, &mut pixmap.as_mut());
        Ok(pixmap)
    }

    /// The card as it will look: the blank as bought (never printed), the
    /// dyes multiplied onto it, the resin on top.
    pub fn preview(&self, card: &RenderedCard) -> Result<RgbImage, RenderError> {
        let pattern = self.pattern(&card.layout.pattern)?;
        let blank = self.blank_image(pattern)?;
        let panels = &card.panels;
        let black = panels.black.as_ref();
        Ok(RgbImage::from_fn(
            self.printer.width_px,
            self.printer.height_px,
            |x, y| {
                if black.is_some_and(|k| k.get(x, y)) {
                    return Rgb([0, 0, 0]);
                }
                let b = blank.pixel(x, y).map_or([255, 255, 255], |p| {
                    let p = p.demultiply();
                    [p.red(), p.green(), p.blue()]
                });
                let c = panels
                    .colour
                    .as_ref()
                    .map_or([255, 255, 255], |c| c.get_pixel(x, y).0);
                Rgb([0, 1, 2].map(|i| ((u16::from(b[i]) * u16::from(c[i])) / 255) as u8))
            },
        ))
    }
}

/// A photo in one-bit resin: Floyd-Steinberg dithered.
fn dither_into(black: &mut Mono, photo: &RgbImage, px: u32, py: u32) {
    let mut grey = imageops::grayscale(photo);
    imageops::dither(&mut grey, &imageops::colorops::BiLevel);
    for (x, y, p) in grey.enumerate_pixels() {
        if p.0[0] < 128 && px + x < black.width() && py + y < black.height() {
            black.set(px + x, py + y, true);
        }
    }
}
