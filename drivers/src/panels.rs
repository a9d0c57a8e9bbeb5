//! The panels of one card face, as the print technique needs them: continuous
//! tone colour for the dye-sublimation panels, one bit per pixel for resin and
//! overlay.

use image::{GrayImage, Luma, RgbImage};

/// One ribbon panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanelKind {
    Yellow,
    Magenta,
    Cyan,
    Black,
    Overlay,
}

impl PanelKind {
    /// The panel's letter in the Evolis `Db` command.
    pub fn letter(self) -> char {
        match self {
            PanelKind::Yellow => 'y',
            PanelKind::Magenta => 'm',
            PanelKind::Cyan => 'c',
            PanelKind::Black => 'k',
            PanelKind::Overlay => 'o',
        }
    }

    pub fn from_letter(c: char) -> Option<Self> {
        Some(match c {
            'y' => PanelKind::Yellow,
            'm' => PanelKind::Magenta,
            'c' => PanelKind::Cyan,
            'k' => PanelKind::Black,
            'o' => PanelKind::Overlay,
            _ => return None,
        })
    }

    pub fn is_colour(self) -> bool {
        matches!(
            self,
            PanelKind::Yellow | PanelKind::Magenta | PanelKind::Cyan
        )
    }
}

/// A one-bit panel: `true` where the ribbon transfers (resin, varnish).
///
/// Kept as a byte per pixel rather than packed: renderers and tests index it
/// far more often than it is sent, and the wire packing lives in the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mono {
    width: u32,
    height: u32,
    bits: Vec<bool>,
}

impl Mono {
    pub fn new(width: u32, height: u32) -> Self {
        Mono {
            width,
            height,
            bits: vec![false; (width * height) as usize],
        }
    }

    pub fn filled(width: u32, height: u32) -> Self {
        Mono {
            width,
            height,
            bits: vec![true; (width * height) as usize],
        }
    }

    /// From one flag per pixel, row by row.
    pub fn from_bits(width: u32, height: u32, bits: Vec<bool>) -> Self {
        assert_eq!(bits.len(), (width * height) as usize, "one flag per pixel");
        Mono {
            width,
            height,
            bits,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        self.bits[(y * self.width + x) as usize]
    }

    pub fn set(&mut self, x: u32, y: u32, on: bool) {
        self.bits[(y * self.width + x) as usize] = on;
    }

    /// The pixels row by row, top row first.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, bool> {
        self.bits.chunks_exact(self.width as usize)
    }

    pub fn count_set(&self) -> usize {
        self.bits.iter().filter(|b| **b).count()
    }

    /// Black where set, white elsewhere: how the panel looks on a white card.
    pub fn to_gray(&self) -> GrayImage {
        GrayImage::from_fn(self.width, self.height, |x, y| {
            Luma([if self.get(x, y) { 0 } else { 255 }])
        })
    }
}

/// Everything printed on one face of one card.
///
/// `colour` is the RGB image the Y, M and C panels are separated from; it is
/// absent on ribbons without colour panels.
#[derive(Debug, Clone)]
pub struct PanelSet {
    pub colour: Option<RgbImage>,
    pub black: Option<Mono>,
    pub overlay: Option<Mono>,
}

impl PanelSet {
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        if let Some(c) = &self.colour {
            return Some(c.dimensions());
        }
        self.black
            .as_ref()
            .or(self.overlay.as_ref())
            .map(|m| (m.width(), m.height()))
    }
}
