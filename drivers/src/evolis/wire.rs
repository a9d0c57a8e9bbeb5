//! The Evolis escape-command wire format, alone: framing, panel encoding and
//! a streaming parser. Used by the driver to speak and by the simulator to
//! listen, so both sides agree on bytes by construction and the tests check
//! the meaning (pixels in, pixels out).
//!
//! Sources (see `drivers/README.md` for what each confirms):
//! - Evolis "Printers Programming Guide" A5013 rev. E: ESC ... CR framing,
//!   `Db;<panel>;<levels>;<data>`, 2 levels = 1 bit for K and O, 32/64/128
//!   levels for Y, M, C, a panel always 1016 x 648 pixels.
//! - dpavlin/Printer-EVOLIS (`scripts/evolis-driver.pl`): the job sequence
//!   `Pr`, `Pmi`, `Ss`, `Sr`, `Db`, `Se`; the card is sent rotated so a wire
//!   row is one 648-pixel column of the card; bit 1 = ink.
//! - A public CUPS filter for Evolis printers: 7-bit colour packed 8 pixels
//!   to 7 bytes, most significant bit first.

use crate::panels::{Mono, PanelKind};
use image::{imageops, GrayImage, Luma, RgbImage};

pub const ESC: u8 = 0x1b;
pub const CR: u8 = 0x0d;

/// `ESC cmd CR`.
pub fn frame(cmd: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(cmd.len() + 2);
    v.push(ESC);
    v.extend_from_slice(cmd.as_bytes());
    v.push(CR);
    v
}

/// Bits per pixel for a level count the printers accept (2, 32, 64, 128).
pub fn bits_for_levels(levels: u32) -> Option<u32> {
    match levels {
        2 => Some(1),
        32 => Some(5),
        64 => Some(6),
        128 => Some(7),
        _ => None,
    }
}

/// Bytes of pixel data that follow `Db;p;levels;` for a panel of `pixels`.
pub fn panel_bytes(pixels: usize, levels: u32) -> Option<usize> {
    let bits = bits_for_levels(levels)? as usize;
    Some((pixels * bits).div_ceil(8))
}

/// Packs `bits`-wide values into a big-endian bit stream.
pub fn pack(values: impl IntoIterator<Item = u8>, bits: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut filled = 0;
    let mask = (1u32 << bits) - 1;
    for v in values {
        acc = (acc << bits) | (u32::from(v) & mask);
        filled += bits;
        while filled >= 8 {
            filled -= 8;
            out.push((acc >> filled) as u8);
        }
        acc &= (1 << filled) - 1;
    }
    if filled > 0 {
        out.push((acc << (8 - filled)) as u8);
    }
    out
}

/// The inverse of [`pack`]: `count` values of `bits` each.
pub fn unpack(data: &[u8], bits: u32, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    let mut acc: u32 = 0;
    let mut filled = 0;
    let mask = (1u32 << bits) - 1;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        filled += 8;
        while filled >= bits && out.len() < count {
            filled -= bits;
            out.push(((acc >> filled) & mask) as u8);
        }
        acc &= (1 << filled) - 1;
    }
    out
}

fn quantise(v: u8, levels: u32) -> u8 {
    ((u32::from(v) * (levels - 1) + 127) / 255) as u8
}

fn expand(q: u8, levels: u32) -> u8 {
    ((u32::from(q) * 255 + (levels - 1) / 2) / (levels - 1)) as u8
}

/// Ink density of one colour panel: yellow absorbs blue, magenta green, cyan
/// red. 0 = no dye.
fn density(kind: PanelKind, rgb: [u8; 3]) -> u8 {
    match kind {
        PanelKind::Yellow => 255 - rgb[2],
        PanelKind::Magenta => 255 - rgb[1],
        PanelKind::Cyan => 255 - rgb[0],
        _ => 0,
    }
}

/// The `Db` command for one colour panel separated from the card image.
pub fn colour_panel(kind: PanelKind, card: &RgbImage, levels: u32) -> Vec<u8> {
    let bits = bits_for_levels(levels).expect("colour levels are checked by the profile");
    let rotated = imageops::rotate90(card);
    let data = pack(
        rotated
            .pixels()
            .map(|p| quantise(density(kind, p.0), levels)),
        bits,
    );
    download(kind, levels, &data)
}

/// The `Db` command for a one-bit panel.
pub fn mono_panel(kind: PanelKind, panel: &Mono) -> Vec<u8> {
    let rotated = imageops::rotate90(&panel.to_gray());
    let data = pack(rotated.pixels().map(|p| u8::from(p.0[0] < 128)), 1);
    download(kind, 2, &data)
}

fn download(kind: PanelKind, levels: u32, data: &[u8]) -> Vec<u8> {
    let head = format!("Db;{};{};", kind.letter(), levels);
    let mut v = Vec::with_capacity(data.len() + head.len() + 2);
    v.push(ESC);
    v.extend_from_slice(head.as_bytes());
    v.extend_from_slice(data);
    v.push(CR);
    v
}

/// Turns received panel data back into a card-oriented image of dye density
/// (0 = none, 255 = full) for colour, or ink for one-bit panels.
pub fn decode_panel(data: &[u8], levels: u32, width: u32, height: u32) -> GrayImage {
    let bits = bits_for_levels(levels).unwrap_or(1);
    let values = unpack(data, bits, (width * height) as usize);
    // On the wire a row is a column of the card: height pixels wide.
    let wire = GrayImage::from_fn(height, width, |x, y| {
        let q = values.get((y * height + x) as usize).copied().unwrap_or(0);
        Luma([if levels == 2 {
            q * 255
        } else {
            expand(q, levels)
        }])
    });
    imageops::rotate270(&wire)
}

/// One thing the printer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Command(String),
    Download {
        panel: char,
        levels: u32,
        data: Vec<u8>,
    },
    /// Bytes that are not a command (noise on the line, a broken frame).
    Garbage(Vec<u8>),
}

/// Splits a byte stream into frames. A download's data may contain any byte,
/// so its length comes from the panel size, as on a real printer.
pub struct Parser {
    pixels: usize,
    buf: Vec<u8>,
}

/// Longest command that is not a download; a longer one is garbage.
const MAX_COMMAND: usize = 256;

impl Parser {
    pub fn new(width: u32, height: u32) -> Self {
        Parser {
            pixels: (width * height) as usize,
            buf: Vec::new(),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.buf.is_empty() {
            return None;
        }
        if self.buf[0] != ESC {
            let end = self
                .buf
                .iter()
                .position(|b| *b == ESC)
                .unwrap_or(self.buf.len());
            return Some(Frame::Garbage(self.buf.drain(..end).collect()));
        }
        if self.buf.starts_with(b"\x1bDb;") {
            return self.next_download();
        }
        match self.buf.iter().position(|b| *b == CR) {
            Some(end) => {
                let cmd = String::from_utf8_lossy(&self.buf[1..end]).into_owned();
                self.buf.drain(..=end);
                Some(Frame::Command(cmd))
            }
            None if self.buf.len() > MAX_COMMAND => {
                let junk: Vec<u8> = self.buf.drain(..).collect();
                Some(Frame::Garbage(junk))
            }
            None => None,
        }
    }

    fn next_download(&mut self) -> Option<Frame> {
        // ESC "Db;" p ";" levels ";" data CR
        let head_end = self.buf.iter().skip(4).position(|b| *b == b';')? + 4;
        let levels_end = self.buf[head_end + 1..]
            .iter()
            .take(4)
            .position(|b| *b == b';')
            .map(|p| p + head_end + 1);
        let garbage = |buf: &mut Vec<u8>| {
            let junk: Vec<u8> = buf.drain(..1).collect();
            Some(Frame::Garbage(junk))
        };
        let Some(levels_end) = levels_end else {
            return if self.buf.len() > head_end + 6 {
                garbage(&mut self.buf)
            } else {
                None
            };
        };
        let panel = String::from_utf8_lossy(&self.buf[4..head_end]).into_owned();
        let levels: Option<u32> = std::str::from_utf8(&self.buf[head_end + 1..levels_end])
            .ok()
            .and_then(|s| s.parse().ok());
        let (Some(panel), Some(levels), true) = (
            panel.chars().next().filter(|_| panel.len() == 1),
            levels,
            true,
        ) else {
            return garbage(&mut self.buf);
        };
        let Some(len) = panel_bytes(self.pixels, levels) else {
            return garbage(&mut self.buf);
        };
        let start = levels_end + 1;
        if self.buf.len() < start + len + 1 {
            return None;
        }
        let data = self.buf[start..start + len].to_vec();
        let terminated = self.buf[start + len] == CR;
        self.buf.drain(..start + len + usize::from(terminated));
        Some(Frame::Download {
            panel,
            levels,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_at_every_depth() {
        for bits in [1, 5, 6, 7] {
            let max = (1u16 << bits) as usize;
            let values: Vec<u8> = (0..1000).map(|i| (i * 7 % max) as u8).collect();
            let packed = pack(values.iter().copied(), bits);
            assert_eq!(packed.len(), (1000 * bits as usize).div_ceil(8));
            assert_eq!(unpack(&packed, bits, 1000), values);
        }
        // 8 pixels of 7 bits are 7 bytes, as the CUPS filter sends them.
        assert_eq!(pack([0x7f; 8], 7), vec![0xff; 7]);
    }

    #[test]
    fn bytes_per_card_for_each_ribbon() {
        let (w, h) = (1016, 648);
        let colour = RgbImage::from_pixel(w, h, image::Rgb([10, 200, 30]));
        let mono = Mono::new(w, h);
        let c = colour_panel(PanelKind::Yellow, &colour, 128).len();
        let k = mono_panel(PanelKind::Black, &mono).len();
        assert_eq!((c, k), (576_083, 82_305));
        assert_eq!(3 * c + 2 * k, 1_892_859, "YMCKO");
        assert_eq!(2 * k, 164_610, "KO");
    }

    #[test]
    fn parser_splits_commands_downloads_and_garbage() {
        let (w, h) = (16, 8);
        let mut panel = Mono::new(w, h);
        panel.set(3, 2, true);
        let mut bytes = frame("Ss");
        bytes.extend(b"noise");
        let dl = mono_panel(PanelKind::Black, &panel);
        bytes.extend(&dl);
        bytes.extend(frame("Se"));
        let mut p = Parser::new(w, h);
        // Fed in awkward pieces, as a serial line delivers them.
        for chunk in bytes.chunks(5) {
            p.push(chunk);
        }
        assert_eq!(p.next_frame(), Some(Frame::Command("Ss".into())));
        assert_eq!(p.next_frame(), Some(Frame::Garbage(b"noise".to_vec())));
        let Some(Frame::Download {
            panel: 'k',
            levels: 2,
            data,
        }) = p.next_frame()
        else {
            panic!("no download")
        };
        let img = decode_panel(&data, 2, w, h);
        assert_eq!(img.get_pixel(3, 2).0[0], 255);
        assert_eq!(img.pixels().filter(|p| p.0[0] > 0).count(), 1);
        assert_eq!(p.next_frame(), Some(Frame::Command("Se".into())));
        assert_eq!(p.next_frame(), None);
    }
}
