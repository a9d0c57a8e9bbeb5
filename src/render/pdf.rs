//! A true-scale proof: one ID-1 page (85.60 x 53.98 mm), the blank's colour,
//! the photo at exactly 19 x 26 mm, and the text in the shipped font,
//! embedded and extractable, so Polish letters survive copy and search.

use super::{RenderedCard, Renderer, FONT_BOLD, FONT_REGULAR};
use crate::profile::MM_PER_INCH;
use printpdf::{
    Color, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Polygon, PolygonRing, Pt, RawImage, RawImageData, RawImageFormat, Rgb,
    TextItem, WindingOrder, XObjectTransform,
};

pub const CARD_W_MM: f32 = 85.6;
pub const CARD_H_MM: f32 = 53.98;

fn pt(mm: f32) -> f32 {
    mm * 72.0 / MM_PER_INCH
}

fn hex_colour(s: &str) -> Color {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0xffffff);
    let c = |shift: u32| ((v >> shift) & 0xff) as f32 / 255.0;
    Color::Rgb(Rgb {
        r: c(16),
        g: c(8),
        b: c(0),
        icc_profile: None,
    })
}

impl Renderer {
    /// The proof PDF for one rendered card.
    pub fn proof_pdf(&self, card: &RenderedCard, title: &str) -> Result<Vec<u8>, String> {
        let pattern = self
            .profiles
            .patterns
            .get(&card.layout.pattern)
            .ok_or("unknown pattern")?;
        let mut doc = PdfDocument::new(title);
        let mut warnings = Vec::new();
        let regular =
            doc.add_font(&ParsedFont::from_bytes(FONT_REGULAR, 0, &mut warnings).ok_or("font")?);
        let bold =
            doc.add_font(&ParsedFont::from_bytes(FONT_BOLD, 0, &mut warnings).ok_or("font")?);
        let (pw, ph) = card.photo.dimensions();
        let image = RawImage {
            width: pw as usize,
            height: ph as usize,
            data_format: RawImageFormat::RGB8,
            pixels: RawImageData::U8(card.photo.as_raw().clone()),
            tag: Vec::new(),
        };
        let image_id = doc.add_image(&image);
        let page_h = pt(CARD_H_MM);
        let mut ops = vec![Op::SetFillColor {
            col: hex_colour(&pattern.blank_colour),
        }];
        let corner = |x: f32, y: f32| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing {
                    points: vec![
                        corner(0.0, 0.0),
                        corner(pt(CARD_W_MM), 0.0),
                        corner(pt(CARD_W_MM), page_h),
                        corner(0.0, page_h),
                    ],
                }],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
        // The photo field is exactly 19 x 26 mm, whatever its pixel count.
        let photo = &pattern.photo;
        let natural_w = pw as f32 / 300.0 * MM_PER_INCH;
        let natural_h = ph as f32 / 300.0 * MM_PER_INCH;
        ops.push(Op::UseXobject {
            id: image_id,
            transform: XObjectTransform {
                translate_x: Some(Pt(pt(photo.x))),
                translate_y: Some(Pt(page_h - pt(photo.y + photo.h))),
                scale_x: Some(photo.w / natural_w),
                scale_y: Some(photo.h / natural_h),
                dpi: Some(300.0),
                ..Default::default()
            },
        });
        ops.push(Op::SetFillColor {
            col: Color::Rgb(Rgb {
                r: 0.0,
                g: 0.0,
                b: 0.0,
                icc_profile: None,
            }),
        });
        let px_to_mm = MM_PER_INCH / self.printer.dpi as f32;
        let (ox, oy) = (self.printer.card_offset_x_px, self.printer.card_offset_y_px);
        for f in &card.layout.fields {
            for (line, base) in f.lines.iter().zip(f.baselines()) {
                let x_mm = (f.x_px - ox) * px_to_mm;
                let base_mm = (base - oy) * px_to_mm;
                ops.push(Op::StartTextSection);
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(if f.bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    }),
                    size: Pt(pt(f.size_px * px_to_mm)),
                });
                ops.push(Op::SetTextCursor {
                    pos: Point {
                        x: Pt(pt(x_mm)),
                        y: Pt(page_h - pt(base_mm)),
                    },
                });
                ops.push(Op::ShowText {
                    items: vec![TextItem::Text(line.clone())],
                });
                ops.push(Op::EndTextSection);
            }
        }
        let page = PdfPage::new(Mm(CARD_W_MM), Mm(CARD_H_MM), ops);
        let opts = PdfSaveOptions {
            // Proofs keep the photo's pixels: no re-encoding, no shrinking.
            image_optimization: None,
            ..PdfSaveOptions::default()
        };
        Ok(doc.with_pages(vec![page]).save(&opts, &mut Vec::new()))
    }
}
