//! Raster pages as IPP printers and CUPS raster drivers read them: PWG
//! Raster (`image/pwg-raster`, PWG 5102.4: big-endian, sRGB, compressed)
//! and CUPS Raster v3 (`application/vnd.cups-raster`: uncompressed RGB, what
//! a CUPS driver such as Gutenprint reads with no filter in between, so the
//! page reaches it pixel for pixel).
//!
//! Written here because no maintained crate writes either (the one PWG crate
//! only reads); both share CUPS's 1796-byte page header.

use image::RgbImage;

/// Which of the two raster formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `image/pwg-raster`: "RaS2", big-endian, sRGB, line-compressed.
    Pwg,
    /// `application/vnd.cups-raster`: "RaS3" (written little-endian, as
    /// CUPS does on x86), RGB, uncompressed.
    CupsV3,
}

impl Flavour {
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/pwg-raster" => Some(Flavour::Pwg),
            "application/vnd.cups-raster" => Some(Flavour::CupsV3),
            _ => None,
        }
    }
}

const HEADER: usize = 1796;

/// One page, RGB at `dpi`, as a complete raster stream.
pub fn encode(page: &RgbImage, dpi: u32, flavour: Flavour) -> Vec<u8> {
    let (w, h) = page.dimensions();
    let mut head = vec![0u8; HEADER];
    let be = flavour == Flavour::Pwg;
    let put = |head: &mut Vec<u8>, field: usize, v: u32| {
        let at = 256 + 4 * field;
        let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
        head[at..at + 4].copy_from_slice(&b);
    };
    let put_f = |head: &mut Vec<u8>, field: usize, v: f32| {
        let at = 256 + 4 * field;
        let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
        head[at..at + 4].copy_from_slice(&b);
    };
    let points = |px: u32| (px as f32 * 72.0 / dpi as f32).round() as u32;
    if be {
        head[..9].copy_from_slice(b"PwgRaster");
    }
    put(&mut head, 5, dpi); // HWResolution
    put(&mut head, 6, dpi);
    put(&mut head, 21, 1); // NumCopies
    put(&mut head, 24, points(w)); // PageSize
    put(&mut head, 25, points(h));
    put(&mut head, 29, w); // cupsWidth
    put(&mut head, 30, h); // cupsHeight
    put(&mut head, 32, 8); // cupsBitsPerColor
    put(&mut head, 33, 24); // cupsBitsPerPixel
    put(&mut head, 34, w * 3); // cupsBytesPerLine
    put(&mut head, 35, 0); // chunky
    put(&mut head, 36, if be { 19 } else { 1 }); // sRGB / RGB
    put(&mut head, 41, 3); // cupsNumColors
    if !be {
        let (pw, ph) = (w as f32 * 72.0 / dpi as f32, h as f32 * 72.0 / dpi as f32);
        put_f(&mut head, 42, 1.0);
        put_f(&mut head, 43, pw);
        put_f(&mut head, 44, ph);
        put_f(&mut head, 47, pw);
        put_f(&mut head, 48, ph);
    } else {
        // PWG: TotalPageCount (cupsInteger[0]) 1, and the same
        // "imageable area" as the page.
        put(&mut head, 49, 1);
    }
    let mut out = Vec::with_capacity(4 + HEADER + (w * h * 3) as usize);
    out.extend_from_slice(match flavour {
        Flavour::Pwg => b"RaS2",
        Flavour::CupsV3 => b"3SaR",
    });
    out.extend_from_slice(&head);
    match flavour {
        Flavour::CupsV3 => out.extend_from_slice(page.as_raw()),
        Flavour::Pwg => {
            for row in page.as_raw().chunks_exact((w * 3) as usize) {
                pwg_line(row, &mut out);
            }
        }
    }
    out
}

/// One line in PWG's compression: a line-repeat count (0: once), then runs
/// of a repeated pixel (`n` = 0..127: n+1 times) or literal pixels
/// (`257 - n` for n = 2..128 of them).
fn pwg_line(row: &[u8], out: &mut Vec<u8>) {
    out.push(0);
    let px: Vec<&[u8]> = row.chunks_exact(3).collect();
    let mut i = 0;
    while i < px.len() {
        let mut same = 1;
        while i + same < px.len() && same < 128 && px[i + same] == px[i] {
            same += 1;
        }
        if same > 1 {
            out.push((same - 1) as u8);
            out.extend_from_slice(px[i]);
            i += same;
            continue;
        }
        // Literal pixels until the next repeat begins.
        let start = i;
        while i < px.len() && i - start < 128 && !(i + 1 < px.len() && px[i + 1] == px[i]) {
            i += 1;
        }
        let n = i - start;
        if n == 1 {
            out.push(0);
        } else {
            out.push((257 - n) as u8);
        }
        for p in &px[start..i] {
            out.extend_from_slice(p);
        }
    }
}

/// Reads back a page this module wrote (either flavour): for tests, and for
/// the simulator-less checks of what a printer received.
pub fn decode(data: &[u8]) -> Option<RgbImage> {
    let flavour = match data.get(..4)? {
        b"RaS2" => Flavour::Pwg,
        b"3SaR" => Flavour::CupsV3,
        _ => return None,
    };
    let head = data.get(4..4 + HEADER)?;
    let get = |field: usize| {
        let b: [u8; 4] = head[256 + 4 * field..260 + 4 * field].try_into().unwrap();
        if flavour == Flavour::Pwg {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let (w, h) = (get(29), get(30));
    let body = &data[4 + HEADER..];
    if flavour == Flavour::CupsV3 {
        return RgbImage::from_raw(w, h, body.get(..(w * h * 3) as usize)?.to_vec());
    }
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    let mut at = 0;
    let mut rows = 0;
    while rows < h {
        let repeat = *body.get(at)? as u32 + 1;
        at += 1;
        let mut line = Vec::with_capacity((w * 3) as usize);
        while line.len() < (w * 3) as usize {
            let n = *body.get(at)?;
            at += 1;
            if n < 128 {
                let p = body.get(at..at + 3)?;
                for _ in 0..=n {
                    line.extend_from_slice(p);
                }
                at += 3;
            } else {
                let count = 257 - n as usize;
                line.extend_from_slice(body.get(at..at + 3 * count)?);
                at += 3 * count;
            }
        }
        for _ in 0..repeat {
            pixels.extend_from_slice(&line);
        }
        rows += repeat;
    }
    RgbImage::from_raw(w, h, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_flavours_read_back_pixel_for_pixel() {
        let img = RgbImage::from_fn(300, 7, |x, y| {
            if x % 50 < 20 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([(x * 7 % 256) as u8, (y * 30) as u8, 200])
            }
        });
        for f in [Flavour::Pwg, Flavour::CupsV3] {
            let bytes = encode(&img, 300, f);
            assert_eq!(decode(&bytes).unwrap(), img, "{f:?}");
        }
        let pwg = encode(&img, 300, Flavour::Pwg);
        assert!(pwg.len() < 4 + HEADER + 300 * 7 * 3, "runs are compressed");
        assert_eq!(&pwg[4..13], b"PwgRaster");
    }
}
