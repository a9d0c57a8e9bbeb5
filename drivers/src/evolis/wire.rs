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

use super::dbc;
use crate::panels::{Mono, PanelKind, PanelSet};
use image::{GrayImage, Luma, RgbImage};

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
    let mut p = Packer::new(bits);
    for v in values {
        p.push(v);
    }
    p.finish()
}

/// [`pack`], fed a piece at a time.
struct Packer {
    out: Vec<u8>,
    acc: u32,
    filled: u32,
    bits: u32,
}

impl Packer {
    fn new(bits: u32) -> Self {
        Packer {
            out: Vec::new(),
            acc: 0,
            filled: 0,
            bits,
        }
    }

    fn push(&mut self, v: u8) {
        let mask = (1u32 << self.bits) - 1;
        self.acc = (self.acc << self.bits) | (u32::from(v) & mask);
        self.filled += self.bits;
        while self.filled >= 8 {
            self.filled -= 8;
            self.out.push((self.acc >> self.filled) as u8);
        }
        self.acc &= (1 << self.filled) - 1;
    }

    fn extend(&mut self, values: &[u8]) {
        for &v in values {
            self.push(v);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.out.push((self.acc << (8 - self.filled)) as u8);
        }
        self.out
    }
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

/// How panels go on the wire: `Db` sends every pixel, `Dbc` compresses
/// (guide A5013 rev. E p.5-6): K and O line by line, Y/M/C run-length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Raw,
    Compressed,
}

impl Download {
    fn command(self) -> &'static str {
        match self {
            Download::Raw => "Db",
            Download::Compressed => "Dbc",
        }
    }
}

/// The download commands of one card face, in the ribbon's panel order
/// (`ymcko`: yellow first, overlay last). A ribbon that carries a panel
/// twice (`ymckok`) sends it once; a panel the card has no image for is
/// not sent.
pub fn encode_panels(card: &PanelSet, ribbon: &str, levels: u32, how: Download) -> Vec<Vec<u8>> {
    let mut kinds: Vec<PanelKind> = Vec::new();
    for kind in ribbon
        .chars()
        .filter_map(|c| PanelKind::from_letter(c.to_ascii_lowercase()))
    {
        let present = match kind {
            PanelKind::Black => card.black.is_some(),
            PanelKind::Overlay => card.overlay.is_some(),
            _ => card.colour.is_some(),
        };
        if present && !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let mut colour = card
        .colour
        .as_ref()
        .filter(|_| kinds.iter().any(|k| k.is_colour()))
        .map(|c| colour_data(c, levels, how).map(Some));
    kinds
        .into_iter()
        .filter_map(|kind| {
            let (data, levels) = match kind {
                PanelKind::Black => (mono_data(card.black.as_ref()?, how), 2),
                PanelKind::Overlay => (mono_data(card.overlay.as_ref()?, how), 2),
                _ => {
                    let i = match kind {
                        PanelKind::Yellow => 0,
                        PanelKind::Magenta => 1,
                        _ => 2,
                    };
                    (colour.as_mut()?[i].take()?, levels)
                }
            };
            Some(download(kind, levels, how, &data))
        })
        .collect()
}

/// Wire lines gathered a tile of card columns at a time: a wire line is a
/// card column, and reading columns of a row-major image one by one misses
/// the cache at every pixel.
const TILE: usize = 16;

/// The Y, M and C panels' data: dye density (0 = none; yellow absorbs
/// blue, magenta green, cyan red) quantised to `levels`, in wire order.
///
/// The card goes on the wire turned a quarter: wire line `x` is card
/// column `x`, read from the bottom row up (guide p.14, "printing
/// direction"; the vendor's captured K panel decodes upright this way).
fn colour_data(card: &RgbImage, levels: u32, how: Download) -> [Vec<u8>; 3] {
    let (w, h) = (card.width() as usize, card.height() as usize);
    let bits = bits_for_levels(levels).expect("levels checked by the profile");
    let lut: Vec<u8> = (0..=255u8).map(|v| quantise(255 - v, levels)).collect();
    let mut packers = [Packer::new(bits), Packer::new(bits), Packer::new(bits)];
    let mut runs = [Vec::new(), Vec::new(), Vec::new()];
    // [plane][column in the tile][pixel along the line]
    let mut tile = vec![0u8; 3 * TILE * h];
    let raw = card.as_raw();
    // Most of a card has no colour (only the photo does): each row's span
    // of colour is found once, rows outside it are skipped in every tile,
    // and lines left untouched are blank.
    let spans: Vec<Option<(usize, usize)>> = raw.chunks_exact(w * 3).map(colour_span).collect();
    for x0 in (0..w).step_by(TILE) {
        let n = TILE.min(w - x0);
        tile.fill(0);
        let mut touched = false;
        for row in 0..h {
            match spans[row] {
                Some((first, last)) if first < x0 + n && last >= x0 => {}
                _ => continue,
            }
            let pixels = &raw[(row * w + x0) * 3..(row * w + x0 + n) * 3];
            touched = true;
            let along = h - 1 - row;
            for (i, px) in pixels.chunks_exact(3).enumerate() {
                tile[i * h + along] = lut[usize::from(px[2])];
                tile[(TILE + i) * h + along] = lut[usize::from(px[1])];
                tile[(2 * TILE + i) * h + along] = lut[usize::from(px[0])];
            }
        }
        for plane in 0..3 {
            for i in 0..n {
                let line = &tile[(plane * TILE + i) * h..][..h];
                match how {
                    Download::Raw => packers[plane].extend(line),
                    Download::Compressed if !touched => {
                        runs[plane].extend_from_slice(&[0x80, 0x00])
                    }
                    Download::Compressed => dbc::encode_run_line(line, levels, &mut runs[plane])
                        .expect("levels checked by the profile"),
                }
            }
        }
    }
    match how {
        Download::Raw => packers.map(Packer::finish),
        Download::Compressed => runs,
    }
}

/// The first and last pixel of a row that is not white, compared sixteen
/// bytes at a time (a white row is the common case).
fn colour_span(row: &[u8]) -> Option<(usize, usize)> {
    const WHITE: [u8; 16] = [255; 16];
    let (chunks, rest) = row.as_chunks::<16>();
    let inked = |b: &u8| *b != 255;
    let first = match chunks.iter().position(|c| *c != WHITE) {
        Some(i) => i * 16 + chunks[i].iter().position(inked)?,
        None => chunks.len() * 16 + rest.iter().position(inked)?,
    };
    let last = match rest.iter().rposition(inked) {
        Some(j) => chunks.len() * 16 + j,
        None => {
            let i = chunks.iter().rposition(|c| *c != WHITE)?;
            i * 16 + chunks[i].iter().rposition(inked)?
        }
    };
    Some((first / 3, last / 3))
}

/// A one-bit panel's data: a bit a pixel, wire lines packed whole bytes
/// each, then line-compressed for `Dbc`.
fn mono_data(panel: &Mono, how: Download) -> Vec<u8> {
    const WIDE: usize = 64;
    let (w, h) = (panel.width() as usize, panel.height() as usize);
    let line_bytes = h.div_ceil(8);
    let mut out = Vec::with_capacity(match how {
        Download::Raw => w * line_bytes,
        Download::Compressed => w * 8,
    });
    let mut tile = vec![0u8; WIDE * line_bytes];
    let rows: Vec<&[bool]> = panel.rows().collect();
    for x0 in (0..w).step_by(WIDE) {
        let n = WIDE.min(w - x0);
        // Eight rows make one byte of every line in the tile: gathered side
        // by side (a loop the compiler vectorises), then stored once.
        for byte in 0..line_bytes {
            let mut acc = [0u8; WIDE];
            for b in 0..8 {
                let along = byte * 8 + b;
                if along >= h {
                    break;
                }
                let row = &rows[h - 1 - along][x0..x0 + n];
                for (a, &on) in acc.iter_mut().zip(row) {
                    *a |= u8::from(on) << (7 - b);
                }
            }
            for (i, a) in acc.iter().take(n).enumerate() {
                tile[i * line_bytes + byte] = *a;
            }
        }
        for line in tile.chunks_exact(line_bytes).take(n) {
            match how {
                Download::Raw => out.extend_from_slice(line),
                Download::Compressed => dbc::encode_line(line, line_bytes, &mut out),
            }
        }
    }
    if how == Download::Raw && h % 8 != 0 {
        // `Db` concatenates so that every bit is useful (p.14): lines that
        // do not fill whole bytes (648 pixels do) run on without padding.
        return pack(
            out.chunks_exact(line_bytes)
                .flat_map(|l| (0..h).map(move |i| (l[i / 8] >> (7 - i % 8)) & 1)),
            1,
        );
    }
    out
}

/// The download of a one-bit panel.
pub fn mono_panel(kind: PanelKind, panel: &Mono, how: Download) -> Vec<u8> {
    download(kind, 2, how, &mono_data(panel, how))
}

/// The download of one colour panel separated from the card image.
pub fn colour_panel(kind: PanelKind, card: &RgbImage, levels: u32, how: Download) -> Vec<u8> {
    encode_panels(
        &PanelSet {
            colour: Some(card.clone()),
            black: None,
            overlay: None,
        },
        &kind.letter().to_string(),
        levels,
        how,
    )
    .remove(0)
}

fn download(kind: PanelKind, levels: u32, how: Download, data: &[u8]) -> Vec<u8> {
    // `Dbc` carries its byte count (p.6): the data may hold CR and ESC.
    let head = match how {
        Download::Raw => format!("Db;{};{};", kind.letter(), levels),
        Download::Compressed => format!("Dbc;{};{};{};", kind.letter(), levels, data.len()),
    };
    debug_assert!(head.starts_with(how.command()));
    let mut v = Vec::with_capacity(data.len() + head.len() + 2);
    v.push(ESC);
    v.extend_from_slice(head.as_bytes());
    v.extend_from_slice(data);
    v.push(CR);
    v
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{0} levels is no depth the printers take")]
    Levels(u32),
    #[error("raw panel of {got} bytes, {want} expected")]
    Length { got: usize, want: usize },
    #[error(transparent)]
    Lines(#[from] dbc::DbcError),
    #[error(transparent)]
    Runs(#[from] dbc::RunError),
}

/// Turns a received panel back into a card-oriented image: dye density
/// (0 = none, 255 = full) for colour, 255 where ink for one-bit panels.
pub fn decode_panel(
    data: &[u8],
    levels: u32,
    how: Download,
    width: u32,
    height: u32,
) -> Result<GrayImage, DecodeError> {
    let bits = bits_for_levels(levels).ok_or(DecodeError::Levels(levels))?;
    let (w, h) = (width as usize, height as usize);
    let values: Vec<u8> = match (how, levels) {
        (Download::Raw, _) => {
            let want = panel_bytes(w * h, levels).unwrap_or(0);
            if data.len() != want {
                return Err(DecodeError::Length {
                    got: data.len(),
                    want,
                });
            }
            unpack(data, bits, w * h)
        }
        (Download::Compressed, 2) => {
            let line_bytes = h.div_ceil(8);
            let lines = dbc::decode_lines(data, w, line_bytes)?;
            lines
                .chunks_exact(line_bytes)
                .flat_map(|l| (0..h).map(move |i| (l[i / 8] >> (7 - i % 8)) & 1))
                .collect()
        }
        (Download::Compressed, _) => dbc::decode_runs(data, levels, w, h)?,
    };
    Ok(GrayImage::from_fn(width, height, |x, y| {
        let q = values[x as usize * h + (h - 1 - y as usize)];
        Luma([if levels == 2 {
            q * 255
        } else {
            expand(q, levels)
        }])
    }))
}

/// One thing the printer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Command(String),
    Download {
        panel: char,
        levels: u32,
        how: Download,
        data: Vec<u8>,
    },
    /// Bytes that are not a command (noise on the line, a broken frame).
    Garbage(Vec<u8>),
}

/// Splits a byte stream into frames. A download's data may contain any
/// byte, so its length comes from the panel size (`Db`) or from its header
/// (`Dbc`), as on a real printer. NULs between commands are skipped: the
/// vendor's driver pads with them (the captures in `fixtures/`).
pub struct Parser {
    pixels: usize,
    buf: Vec<u8>,
}

/// Longest command that is not a download; a longer one is garbage.
const MAX_COMMAND: usize = 256;

/// A `Dbc` byte count above this is no panel (a raw 128-level panel is
/// 576,072 bytes; the worst run-length coding of one is 658,368): the
/// header is taken as garbage rather than waiting for megabytes.
const MAX_COMPRESSED: usize = 1 << 20;

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
        let nuls = self.buf.iter().take_while(|b| **b == 0).count();
        self.buf.drain(..nuls);
        if self.buf.is_empty() {
            return None;
        }
        if self.buf[0] != ESC {
            let end = self
                .buf
                .iter()
                .position(|b| *b == ESC || *b == 0)
                .unwrap_or(self.buf.len());
            return Some(Frame::Garbage(self.buf.drain(..end).collect()));
        }
        if self.buf.starts_with(b"\x1bDbc;") {
            return self.next_download(Download::Compressed);
        }
        if self.buf.starts_with(b"\x1bDb;") {
            return self.next_download(Download::Raw);
        }
        match self.buf.iter().position(|b| *b == CR) {
            Some(end) if end <= MAX_COMMAND => {
                let cmd = String::from_utf8_lossy(&self.buf[1..end]).into_owned();
                self.buf.drain(..=end);
                Some(Frame::Command(cmd))
            }
            None if self.buf.len() <= MAX_COMMAND => None,
            _ => Some(self.garbage()),
        }
    }

    /// The ESC of a frame that cannot be one: dropped, and what follows
    /// is read afresh.
    fn garbage(&mut self) -> Frame {
        Frame::Garbage(self.buf.drain(..1).collect())
    }

    /// `ESC Db;p;levels;` + data + CR, or `ESC Dbc;p;levels;count;` + data +
    /// CR (the three-parameter header of the guide's p.6 and the captures).
    fn next_download(&mut self, how: Download) -> Option<Frame> {
        let fields = if how == Download::Raw { 2 } else { 3 };
        let start = 1 + how.command().len() + 1;
        // The header: up to `fields` values, each ended by ';'.
        let mut values = Vec::with_capacity(fields);
        let mut at = start;
        while values.len() < fields {
            let end = match self.buf[at..].iter().take(9).position(|b| *b == b';') {
                Some(p) => at + p,
                None if self.buf.len() - at < 9 => return None,
                None => return Some(self.garbage()),
            };
            values.push(String::from_utf8_lossy(&self.buf[at..end]).into_owned());
            at = end + 1;
        }
        let panel = values[0].chars().next().filter(|_| values[0].len() == 1);
        let levels: Option<u32> = values[1].parse().ok();
        let (Some(panel), Some(levels)) = (panel, levels) else {
            return Some(self.garbage());
        };
        let len = match how {
            Download::Raw => panel_bytes(self.pixels, levels),
            Download::Compressed => values[2].parse().ok().filter(|n| *n <= MAX_COMPRESSED),
        };
        let Some(len) = len else {
            return Some(self.garbage());
        };
        if self.buf.len() < at + len + 1 {
            return None;
        }
        let data = self.buf[at..at + len].to_vec();
        let terminated = self.buf[at + len] == CR;
        self.buf.drain(..at + len + usize::from(terminated));
        Some(Frame::Download {
            panel,
            levels,
            how,
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
        let c = colour_panel(PanelKind::Yellow, &colour, 128, Download::Raw).len();
        let k = mono_panel(PanelKind::Black, &mono, Download::Raw).len();
        assert_eq!((c, k), (576_083, 82_305));
        assert_eq!(3 * c + 2 * k, 1_892_859, "YMCKO");
        assert_eq!(2 * k, 164_610, "KO");
        // Compressed, a flat colour line is three runs of two bytes
        // (255 + 255 + 138 pixels at 128 levels) and a white K line one byte.
        let c = colour_panel(PanelKind::Yellow, &colour, 128, Download::Compressed).len();
        let k = mono_panel(PanelKind::Black, &mono, Download::Compressed).len();
        assert_eq!((c, k), (1016 * 6 + 17, 1016 + 15));
    }

    /// A card with a bit of everything: a photo-like noisy patch, flat
    /// areas, white, text-like resin and an overlay with a hole.
    fn random_card(w: u32, h: u32, seed: u64) -> PanelSet {
        let mut state = seed | 1;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let colour = RgbImage::from_fn(w, h, |x, y| {
            if x < w / 3 && y < h / 2 {
                let r = rnd();
                image::Rgb([r as u8, (r >> 8) as u8, (r >> 16) as u8])
            } else if x < w / 2 {
                image::Rgb([200, 30, 90])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let black = Mono::from_bits(w, h, (0..w * h).map(|_| rnd() % 5 == 0).collect());
        let mut overlay = Mono::filled(w, h);
        for x in w / 2..w / 2 + w / 8 {
            for y in h / 4..h / 2 {
                overlay.set(x, y, false);
            }
        }
        PanelSet {
            colour: Some(colour),
            black: Some(black),
            overlay: Some(overlay),
        }
    }

    #[test]
    fn every_panel_round_trips_through_the_parser_in_both_forms_at_every_depth() {
        // The real geometry, a small one, and one whose lines are not
        // whole bytes.
        for (w, h) in [(1016, 648), (40, 24), (40, 20)] {
            let card = random_card(w, h, u64::from(w));
            for how in [Download::Raw, Download::Compressed] {
                for levels in [32, 64, 128] {
                    let sent = encode_panels(&card, "YMCKO", levels, how);
                    assert_eq!(sent.len(), 5);
                    let mut p = Parser::new(w, h);
                    // Fed in awkward pieces, as a serial line delivers them.
                    for chunk in sent.concat().chunks(4093) {
                        p.push(chunk);
                    }
                    let colour = card.colour.as_ref().unwrap();
                    for (i, letter) in "ymcko".chars().enumerate() {
                        let Some(Frame::Download {
                            panel,
                            levels: l,
                            how: got_how,
                            data,
                        }) = p.next_frame()
                        else {
                            panic!("{how:?} {levels}: no download {letter}")
                        };
                        assert_eq!((panel, got_how), (letter, how));
                        let img = decode_panel(&data, l, how, w, h).unwrap();
                        for (x, y, px) in img.enumerate_pixels() {
                            let want = match i {
                                0..=2 => expand(
                                    quantise(255 - colour.get_pixel(x, y).0[2 - i], levels),
                                    levels,
                                ),
                                3 => 255 * u8::from(card.black.as_ref().unwrap().get(x, y)),
                                _ => 255 * u8::from(card.overlay.as_ref().unwrap().get(x, y)),
                            };
                            assert_eq!(px.0[0], want, "{how:?} {levels} {letter} at {x},{y}");
                        }
                    }
                    assert_eq!(p.next_frame(), None);
                }
            }
        }
    }

    #[test]
    fn a_ribbon_sends_each_panel_once_and_only_panels_the_card_has() {
        let card = random_card(40, 24, 7);
        let letters = |ribbon: &str, card: &PanelSet| {
            encode_panels(card, ribbon, 128, Download::Compressed)
                .iter()
                .map(|f| char::from(f[5]))
                .collect::<String>()
        };
        assert_eq!(letters("ymckok", &card), "ymcko");
        assert_eq!(letters("KO", &card), "ko");
        let mut mono = card.clone();
        mono.colour = None;
        assert_eq!(letters("ymcko", &mono), "ko");
    }

    #[test]
    fn parser_splits_commands_downloads_nuls_and_garbage() {
        let (w, h) = (16, 8);
        let mut panel = Mono::new(w, h);
        panel.set(3, 2, true);
        let mut bytes = frame("Ss");
        bytes.extend([0u8; 7]);
        bytes.extend(b"noise");
        for how in [Download::Raw, Download::Compressed] {
            bytes.extend(mono_panel(PanelKind::Black, &panel, how));
        }
        bytes.extend([0u8; 32]);
        bytes.extend(frame("Se;1"));
        // A header whose count is no panel, then a command that still reads.
        bytes.extend(b"\x1bDbc;k;2;99999999;");
        bytes.extend(frame("Rtp"));
        let mut p = Parser::new(w, h);
        for chunk in bytes.chunks(5) {
            p.push(chunk);
        }
        assert_eq!(p.next_frame(), Some(Frame::Command("Ss".into())));
        assert_eq!(p.next_frame(), Some(Frame::Garbage(b"noise".to_vec())));
        for want in [Download::Raw, Download::Compressed] {
            let Some(Frame::Download {
                panel: 'k',
                levels: 2,
                how,
                data,
            }) = p.next_frame()
            else {
                panic!("no download")
            };
            assert_eq!(how, want);
            let img = decode_panel(&data, 2, how, w, h).unwrap();
            assert_eq!(img.get_pixel(3, 2).0[0], 255);
            assert_eq!(img.pixels().filter(|p| p.0[0] > 0).count(), 1);
        }
        assert_eq!(p.next_frame(), Some(Frame::Command("Se;1".into())));
        assert!(matches!(p.next_frame(), Some(Frame::Garbage(g)) if g == [ESC]));
        let mut rest = Vec::new();
        while let Some(f) = p.next_frame() {
            rest.push(f);
        }
        assert_eq!(rest.last(), Some(&Frame::Command("Rtp".into())));
    }
}
