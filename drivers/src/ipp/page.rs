//! A card as one picture for a printer that chooses its panels itself
//! (a CUPS driver, an IPP Everywhere printer): vendor drivers send a pixel
//! to the resin K panel by its value, not by what it is (Magicard's only
//! exact #000000, Gutenprint anything with R, G and B all at most 3). So the
//! K panel's pixels become hard #000000, and every other pixel is kept at
//! least [`ABOVE_BLACK`] on each channel: text prints in resin, and nothing
//! else does.

use crate::panels::PanelSet;
use image::{imageops, Rgb, RgbImage};

/// The darkest a non-text pixel may be, on every channel.
pub const ABOVE_BLACK: u8 = 8;

/// How the card sits on the page the driver expects.
#[derive(Debug, Clone, PartialEq)]
pub struct PageLayout {
    pub width_px: u32,
    pub height_px: u32,
    /// Turn the card a quarter clockwise (a portrait page).
    pub rotate: bool,
    /// Where the card's top-left corner goes (negative: cropped).
    pub offset_x_px: i64,
    pub offset_y_px: i64,
}

/// The one picture sent: white page, the card placed on it.
pub fn compose(card: &PanelSet, layout: &PageLayout) -> RgbImage {
    let (w, h) = card
        .dimensions()
        .unwrap_or((layout.width_px, layout.height_px));
    let mut face = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    if let Some(c) = &card.colour {
        for (x, y, p) in c.enumerate_pixels() {
            face.put_pixel(x, y, Rgb(p.0.map(|v| v.max(ABOVE_BLACK))));
        }
    }
    if let Some(k) = &card.black {
        for y in 0..k.height() {
            for x in 0..k.width() {
                if k.get(x, y) {
                    face.put_pixel(x, y, Rgb([0, 0, 0]));
                }
            }
        }
    }
    let face = if layout.rotate {
        imageops::rotate90(&face)
    } else {
        face
    };
    let mut page = RgbImage::from_pixel(layout.width_px, layout.height_px, Rgb([255, 255, 255]));
    imageops::replace(&mut page, &face, layout.offset_x_px, layout.offset_y_px);
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panels::Mono;

    #[test]
    fn text_is_pure_black_and_nothing_else_is_near_it() {
        let colour = RgbImage::from_fn(40, 20, |x, _| Rgb([x as u8, 0, 3]));
        let mut k = Mono::new(40, 20);
        k.set(5, 5, true);
        let card = PanelSet {
            colour: Some(colour),
            black: Some(k),
            overlay: None,
        };
        let flat = PageLayout {
            width_px: 40,
            height_px: 20,
            rotate: false,
            offset_x_px: 0,
            offset_y_px: 0,
        };
        let page = compose(&card, &flat);
        for (x, y, p) in page.enumerate_pixels() {
            if (x, y) == (5, 5) {
                assert_eq!(p.0, [0, 0, 0]);
            } else {
                assert!(p.0.iter().all(|v| *v >= ABOVE_BLACK), "({x},{y}) {:?}", p.0);
            }
        }
        // Turned onto a portrait page, cropped by its offset.
        let portrait = PageLayout {
            width_px: 18,
            height_px: 40,
            rotate: true,
            offset_x_px: -1,
            offset_y_px: 0,
        };
        let page = compose(&card, &portrait);
        // (5,5) on a 40x20 card turned clockwise is (20-1-5, 5) = (14, 5), then x - 1.
        assert_eq!(page.get_pixel(13, 5).0, [0, 0, 0]);
        assert_eq!(page.dimensions(), (18, 40));
    }
}
