//! The card's physical measures, shared by the blank's layout (`template`),
//! the printer (`profile`) and the drawing (`render`): neither needs the
//! others for a number.

use serde::Deserialize;

/// ID-1 (ISO/IEC 7810): 85.60 x 53.98 mm.
pub const CARD_W_MM: f32 = 85.6;
pub const CARD_H_MM: f32 = 53.98;

/// Millimetres per inch, for placing layouts given in mm on a dpi grid.
pub const MM_PER_INCH: f32 = 25.4;

/// A box on the card, in mm from its top-left corner.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}
