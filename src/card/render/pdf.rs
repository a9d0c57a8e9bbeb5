//! Proofs at true scale: one card on an ID-1 page (85.60 x 53.98 mm), or a
//! class on A4 with crop marks. The blank as bought in the background, the
//! photo at exactly 19 x 26 mm, text in the shipped font, embedded and
//! extractable, so Polish letters survive copy and search. Images are
//! embedded at the pixels the printer prints (its dpi, not the source's):
//! the photo as JPEG (DCT), the blank once per document, losslessly
//! compressed (flat colour and captions, which JPEG would smear), and the
//! font subset to the characters used. Raw pixels and the whole font made a
//! one-card proof 2.5 MB.

use super::{RenderedCard, Renderer, FONT_BOLD, FONT_REGULAR};
use crate::card::geometry::{CARD_H_MM, CARD_W_MM, MM_PER_INCH};
use image::RgbImage;
use printpdf::{
    Color, DictItem, ExternalStream, ExternalXObject, FontId, Line, LinePoint, Mm, Op, ParsedFont,
    PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Px, Rgb, TextItem, XObjectId,
    XObjectTransform,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const A4_W_MM: f32 = 210.0;
pub const A4_H_MM: f32 = 297.0;
/// Cards per A4 page: 2 columns of 4, with room between them for crop marks
/// (five rows would leave none: 5 x 53.98 mm is 270 mm of 297).
const COLUMNS: usize = 2;
const ROWS: usize = 4;
const GAP_MM: f32 = 10.0;

fn pt(mm: f32) -> Pt {
    Pt(mm * 72.0 / MM_PER_INCH)
}

fn black() -> Color {
    Color::Rgb(Rgb {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        icc_profile: None,
    })
}

struct Fonts {
    regular: FontId,
    bold: FontId,
}

/// What a document holds once however many cards use it.
struct Shared {
    fonts: Fonts,
    /// Each pattern's blank, by pattern symbol: a class shares one image.
    blanks: HashMap<String, XObjectId>,
}

/// JPEG quality of the photo: at 90 a proof shows no block or ringing at
/// 100 % and a 19 x 26 mm photo at 300 dpi is some 30 KB.
const PHOTO_JPEG_QUALITY: u8 = 90;

/// An RGB image XObject with `filter` over `content`; `compress` lets the
/// writer deflate it (for raw pixels).
fn image_xobject(
    img: &RgbImage,
    filter: Option<&str>,
    content: Vec<u8>,
    compress: bool,
) -> ExternalXObject {
    let name = |n: &str| DictItem::Name(n.as_bytes().to_vec());
    let mut dict = BTreeMap::from([
        ("Type".to_string(), name("XObject")),
        ("Subtype".to_string(), name("Image")),
        ("Width".to_string(), DictItem::Int(i64::from(img.width()))),
        ("Height".to_string(), DictItem::Int(i64::from(img.height()))),
        ("ColorSpace".to_string(), name("DeviceRGB")),
        ("BitsPerComponent".to_string(), DictItem::Int(8)),
    ]);
    if let Some(f) = filter {
        dict.insert("Filter".to_string(), name(f));
    }
    ExternalXObject {
        stream: ExternalStream {
            dict,
            content,
            compress,
        },
        width: Some(Px(img.width() as usize)),
        height: Some(Px(img.height() as usize)),
        dpi: Some(300.0),
    }
}

/// A photo as a DCT-encoded image.
fn jpeg_image(img: &RgbImage) -> Result<ExternalXObject, String> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, PHOTO_JPEG_QUALITY)
        .encode_image(img)
        .map_err(|e| format!("encoding the photo as JPEG: {e}"))?;
    Ok(image_xobject(img, Some("DCTDecode"), jpeg, false))
}

/// Raw pixels, deflated when the document is written.
fn lossless_image(img: &RgbImage) -> ExternalXObject {
    image_xobject(img, None, img.as_raw().clone(), true)
}

/// Places an image so it covers exactly `w` x `h` mm with its lower-left
/// corner at (`x`, `y`) mm from the page's lower-left.
fn place(id: XObjectId, img: &RgbImage, x: f32, y: f32, w: f32, h: f32) -> Op {
    place_mm(id, x, y, w, h, img.dimensions())
}

/// [`place`] for an image of `px` pixels already in the document.
fn place_mm(id: XObjectId, x: f32, y: f32, w: f32, h: f32, px: (u32, u32)) -> Op {
    let natural_w = px.0 as f32 / 300.0 * MM_PER_INCH;
    let natural_h = px.1 as f32 / 300.0 * MM_PER_INCH;
    Op::UseXobject {
        id,
        transform: XObjectTransform {
            translate_x: Some(pt(x)),
            translate_y: Some(pt(y)),
            scale_x: Some(w / natural_w),
            scale_y: Some(h / natural_h),
            dpi: Some(300.0),
            ..Default::default()
        },
    }
}

fn line(x1: f32, y1: f32, x2: f32, y2: f32) -> Op {
    let p = |x, y| LinePoint {
        p: Point { x: pt(x), y: pt(y) },
        bezier: false,
    };
    Op::DrawLine {
        line: Line {
            points: vec![p(x1, y1), p(x2, y2)],
            is_closed: false,
        },
    }
}

impl Renderer {
    fn shared(doc: &mut PdfDocument, cards: &[RenderedCard]) -> Result<Shared, String> {
        let used = |bold: bool| -> BTreeSet<char> {
            cards
                .iter()
                .flat_map(|c| &c.layout.fields)
                .filter(|f| f.bold == bold)
                .flat_map(|f| f.lines.iter().flat_map(|l| l.chars()))
                .collect()
        };
        let mut w = Vec::new();
        let regular =
            ParsedFont::from_bytes(&super::font::subset(FONT_REGULAR, &used(false))?, 0, &mut w)
                .ok_or("the regular font does not parse")?;
        let bold = ParsedFont::from_bytes(&super::font::subset(FONT_BOLD, &used(true))?, 0, &mut w)
            .ok_or("the bold font does not parse")?;
        Ok(Shared {
            fonts: Fonts {
                regular: doc.add_font(&regular),
                bold: doc.add_font(&bold),
            },
            blanks: HashMap::new(),
        })
    }

    /// The card's size in the printer's pixels, as the blank is cut.
    fn card_px(&self) -> (u32, u32) {
        (
            self.printer.mm(CARD_W_MM).round() as u32,
            self.printer.mm(CARD_H_MM).round() as u32,
        )
    }

    /// The card area of the blank, at the printer's resolution.
    fn blank_card(&self, card: &RenderedCard) -> Result<RgbImage, String> {
        let pattern = self.pattern(&card.layout.pattern).map_err(|r| r.message)?;
        let pixmap = self.blank_image(pattern).map_err(|e| e.to_string())?;
        let (ox, oy) = (
            self.printer.card_offset_x_px.round() as u32,
            self.printer.card_offset_y_px.round() as u32,
        );
        let (w, h) = self.card_px();
        Ok(RgbImage::from_fn(w, h, |x, y| {
            pixmap
                .pixel(ox + x, oy + y)
                .map_or(image::Rgb([255, 255, 255]), |p| {
                    let p = p.demultiply();
                    image::Rgb([p.red(), p.green(), p.blue()])
                })
        }))
    }

    /// One card with its lower-left corner at (`x0`, `y0`) mm on the page.
    fn card_ops(
        &self,
        doc: &mut PdfDocument,
        shared: &mut Shared,
        card: &RenderedCard,
        x0: f32,
        y0: f32,
    ) -> Result<Vec<Op>, String> {
        let pattern = self.pattern(&card.layout.pattern).map_err(|r| r.message)?;
        let blank = match shared.blanks.get(&pattern.pattern) {
            Some(id) => id.clone(),
            None => {
                let id = doc.add_xobject(&lossless_image(&self.blank_card(card)?));
                shared.blanks.insert(pattern.pattern.clone(), id.clone());
                id
            }
        };
        let mut ops = vec![place_mm(
            blank,
            x0,
            y0,
            CARD_W_MM,
            CARD_H_MM,
            self.card_px(),
        )];
        // The photo field is exactly 19 x 26 mm, whatever its pixel count.
        let ph = &pattern.photo;
        ops.push(place(
            doc.add_xobject(&jpeg_image(&card.photo)?),
            &card.photo,
            x0 + ph.x,
            y0 + CARD_H_MM - ph.y - ph.h,
            ph.w,
            ph.h,
        ));
        ops.push(Op::SetFillColor { col: black() });
        let px_to_mm = MM_PER_INCH / self.printer.dpi as f32;
        let (ox, oy) = (self.printer.card_offset_x_px, self.printer.card_offset_y_px);
        for f in &card.layout.fields {
            for (text, base) in f.lines.iter().zip(f.baselines()) {
                ops.push(Op::StartTextSection);
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(if f.bold {
                        shared.fonts.bold.clone()
                    } else {
                        shared.fonts.regular.clone()
                    }),
                    size: pt(f.size_px * px_to_mm),
                });
                ops.push(Op::SetTextCursor {
                    pos: Point {
                        x: pt(x0 + (f.x_px - ox) * px_to_mm),
                        y: pt(y0 + CARD_H_MM - (base - oy) * px_to_mm),
                    },
                });
                ops.push(Op::ShowText {
                    items: vec![TextItem::Text(text.clone())],
                });
                ops.push(Op::EndTextSection);
            }
        }
        Ok(ops)
    }

    fn save(doc: &mut PdfDocument, pages: Vec<PdfPage>) -> Vec<u8> {
        let opts = PdfSaveOptions {
            // The images are encoded already (see the module's note): the
            // writer must neither re-encode nor shrink them.
            image_optimization: None,
            ..PdfSaveOptions::default()
        };
        doc.with_pages(pages).save(&opts, &mut Vec::new())
    }

    /// The proof PDF for one rendered card: one ID-1 page.
    pub fn proof_pdf(&self, card: &RenderedCard, title: &str) -> Result<Vec<u8>, String> {
        let mut doc = PdfDocument::new(title);
        let mut shared = Self::shared(&mut doc, std::slice::from_ref(card))?;
        let ops = self.card_ops(&mut doc, &mut shared, card, 0.0, 0.0)?;
        Ok(Self::save(
            &mut doc,
            vec![PdfPage::new(Mm(CARD_W_MM), Mm(CARD_H_MM), ops)],
        ))
    }

    /// Lower-left corners (mm) of the card slots on an A4 page.
    pub fn a4_slots() -> Vec<(f32, f32)> {
        let grid_w = COLUMNS as f32 * CARD_W_MM + (COLUMNS - 1) as f32 * GAP_MM;
        let grid_h = ROWS as f32 * CARD_H_MM + (ROWS - 1) as f32 * GAP_MM;
        let (left, bottom) = ((A4_W_MM - grid_w) / 2.0, (A4_H_MM - grid_h) / 2.0);
        let mut slots = Vec::new();
        for row in 0..ROWS {
            for col in 0..COLUMNS {
                let x = left + col as f32 * (CARD_W_MM + GAP_MM);
                let y = bottom + (ROWS - 1 - row) as f32 * (CARD_H_MM + GAP_MM);
                slots.push((x, y));
            }
        }
        slots
    }

    /// A class on A4 at true scale with crop marks at every card's corners.
    pub fn batch_proof_pdf(&self, cards: &[RenderedCard], title: &str) -> Result<Vec<u8>, String> {
        let mut doc = PdfDocument::new(title);
        let mut shared = Self::shared(&mut doc, cards)?;
        let slots = Self::a4_slots();
        let mut pages = Vec::new();
        for chunk in cards.chunks(slots.len()) {
            let mut ops = vec![
                Op::SetOutlineColor { col: black() },
                Op::SetOutlineThickness { pt: Pt(0.25) },
            ];
            for (card, &(x, y)) in chunk.iter().zip(&slots) {
                ops.extend(self.card_ops(&mut doc, &mut shared, card, x, y)?);
                // Marks stop 1 mm short of the card so they never print on it.
                let (r, t) = (x + CARD_W_MM, y + CARD_H_MM);
                for (cx, cy, dx, dy) in [
                    (x, y, -1.0, -1.0),
                    (r, y, 1.0, -1.0),
                    (x, t, -1.0, 1.0),
                    (r, t, 1.0, 1.0),
                ] {
                    ops.push(line(cx + dx, cy, cx + dx * 4.0, cy));
                    ops.push(line(cx, cy + dy, cx, cy + dy * 4.0));
                }
            }
            pages.push(PdfPage::new(Mm(A4_W_MM), Mm(A4_H_MM), ops));
        }
        if pages.is_empty() {
            return Err("no cards to proof".into());
        }
        Ok(Self::save(&mut doc, pages))
    }
}
