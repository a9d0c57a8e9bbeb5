//! The student's photo: checked before it is decoded, decoded within limits,
//! cropped to the card's 19:26 field around its centre and resampled to the
//! field's exact pixels. Never stretched.

use crate::card::reject::{Code, Rejection};
use base64::Engine;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// At most 5 MB of JPEG (contract).
pub const MAX_JPEG_BYTES: usize = 5_000_000;
/// At most 40 megapixels once decoded (contract).
pub const MAX_PIXELS: u64 = 40_000_000;
/// 19 x 26 mm at 300 dpi (contract).
pub const MIN_WIDTH: u32 = 224;
pub const MIN_HEIGHT: u32 = 307;

/// A JPEG that passed every check; its bytes are what the central system sent.
#[derive(Clone)]
pub struct Photo {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A child's photo never goes to a log, even by accident.
        write!(
            f,
            "Photo({}x{}, {} bytes)",
            self.width,
            self.height,
            self.jpeg.len()
        )
    }
}

fn reject(code: Code, message: &str) -> Rejection {
    let field = match code {
        Code::PhotoChecksum => "photo.sha256",
        Code::PhotoFormat => "photo.media_type",
        _ => "photo.data",
    };
    Rejection::new(code, Some(field), message)
}

impl Photo {
    /// Checks a photo as the contract sends it: base64 data, its SHA-256, its
    /// media type. Sizes are checked before anything is decoded.
    pub fn from_message(media_type: &str, sha256: &str, data_b64: &str) -> Result<Self, Rejection> {
        if media_type != "image/jpeg" {
            return Err(reject(
                Code::PhotoFormat,
                &format!(
                    "media_type must be image/jpeg, not {}",
                    crate::card::reject::quote(media_type)
                ),
            ));
        }
        // Base64 is 4 characters per 3 bytes: refuse before decoding.
        if data_b64.len() > MAX_JPEG_BYTES.div_ceil(3) * 4 + 4 {
            return Err(reject(Code::PhotoTooLarge, "the JPEG is over 5 MB"));
        }
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(data_b64.trim())
            .map_err(|e| {
                Rejection::new(
                    Code::Schema,
                    Some("photo.data"),
                    &format!("photo.data is not base64: {e}"),
                )
            })?;
        if jpeg.len() > MAX_JPEG_BYTES {
            return Err(reject(Code::PhotoTooLarge, "the JPEG is over 5 MB"));
        }
        let digest = hex::encode(Sha256::digest(&jpeg));
        if !digest.eq_ignore_ascii_case(sha256.trim()) {
            return Err(reject(
                Code::PhotoChecksum,
                "photo.sha256 does not match the photo's bytes",
            ));
        }
        Self::from_jpeg(jpeg)
    }

    /// Every check, the whole entropy-coded image read: for a photo arriving
    /// in an order.
    ///
    /// Colour is judged at an eighth of the size, from each 8 x 8 block's
    /// average (the DCT's DC term): every coefficient is still decoded, so a
    /// corrupt stream is refused, but no inverse transform runs. A school's
    /// burst of thousands of orders is decided by this cost.
    pub fn from_jpeg(jpeg: Vec<u8>) -> Result<Self, Rejection> {
        let photo = Self::from_header(jpeg)?;
        if !photo.is_colour()? {
            return Err(reject(Code::PhotoNotColour, "the photo must be in colour"));
        }
        Ok(photo)
    }

    fn is_colour(&self) -> Result<bool, Rejection> {
        use jpeg_decoder::PixelFormat;
        let failed = |e: jpeg_decoder::Error| {
            reject(Code::PhotoFormat, &format!("cannot decode the JPEG: {e}"))
        };
        let mut d = jpeg_decoder::Decoder::new(Cursor::new(&self.jpeg));
        d.read_info().map_err(failed)?;
        let (w, h) = self.dimensions();
        d.scale((w / 8).max(1) as u16, (h / 8).max(1) as u16)
            .map_err(failed)?;
        // A progressive JPEG keeps every coefficient of the full image while
        // it decodes (up to 320 MB at 40 MP, whatever the scale): one at a
        // time, so a burst of them cannot exhaust memory.
        static PROGRESSIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let progressive = d
            .info()
            .is_some_and(|i| i.coding_process == jpeg_decoder::CodingProcess::DctProgressive);
        let _one = progressive.then(|| PROGRESSIVE.lock().unwrap_or_else(|p| p.into_inner()));
        let pixels = d.decode().map_err(failed)?;
        let channels = match d.info().map(|i| i.pixel_format) {
            Some(PixelFormat::RGB24) => 3,
            // Inverted or not, C, M and Y differ where there is colour.
            Some(PixelFormat::CMYK32) => 4,
            _ => return Ok(false),
        };
        Ok(has_chroma(
            pixels.chunks_exact(channels).map(|p| [p[0], p[1], p[2]]),
        ))
    }

    /// A photo the station validated when it accepted the order, read back
    /// from its database: only the header is checked again, since rendering
    /// decodes the image anyway.
    pub fn from_store(jpeg: Vec<u8>) -> Result<Self, Rejection> {
        Self::from_header(jpeg)
    }

    /// The checks that need no decoding: format, size, orientation, an end.
    fn from_header(jpeg: Vec<u8>) -> Result<Self, Rejection> {
        let reader = ImageReader::new(Cursor::new(&jpeg))
            .with_guessed_format()
            .map_err(|e| reject(Code::PhotoFormat, &e.to_string()))?;
        if reader.format() != Some(ImageFormat::Jpeg) {
            return Err(reject(Code::PhotoFormat, "the photo is not a JPEG"));
        }
        // The header alone: a decompression bomb is refused before allocating.
        let ((stored_w, stored_h), orientation) = {
            let mut decoder = reader
                .into_decoder()
                .map_err(|e| reject(Code::PhotoFormat, &format!("unreadable JPEG: {e}")))?;
            let o = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            (decoder.dimensions(), o)
        };
        // A phone's portrait is often stored sideways with an EXIF turn.
        let (width, height) = if turns_quarter(orientation) {
            (stored_h, stored_w)
        } else {
            (stored_w, stored_h)
        };
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(reject(
                Code::PhotoTooLarge,
                &format!("{width} x {height} is over 40 megapixels"),
            ));
        }
        if width < MIN_WIDTH || height < MIN_HEIGHT {
            return Err(reject(
                Code::PhotoTooSmall,
                &format!("{width} x {height} is under the {MIN_WIDTH} x {MIN_HEIGHT} the 19 x 26 mm field needs at 300 dpi"),
            ));
        }
        if !is_complete(&jpeg) {
            return Err(reject(
                Code::PhotoFormat,
                "the JPEG is truncated (no end after its image data)",
            ));
        }
        Ok(Photo {
            jpeg,
            width,
            height,
        })
    }

    pub fn jpeg(&self) -> &[u8] {
        &self.jpeg
    }

    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Decodes within limits and turns the picture upright (EXIF orientation).
    pub fn decode(&self) -> Result<DynamicImage, Rejection> {
        let failed = |e: image::ImageError| {
            reject(Code::PhotoFormat, &format!("cannot decode the JPEG: {e}"))
        };
        let mut decoder = ImageReader::with_format(Cursor::new(&self.jpeg), ImageFormat::Jpeg)
            .into_decoder()
            .map_err(failed)?;
        let mut limits = Limits::default();
        let side = self.width.max(self.height);
        limits.max_image_width = Some(side);
        limits.max_image_height = Some(side);
        // RGB at 8 bits plus the decoder's own working room.
        limits.max_alloc = Some(u64::from(self.width) * u64::from(self.height) * 4 + (64 << 20));
        decoder.set_limits(limits).map_err(failed)?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut img = DynamicImage::from_decoder(decoder).map_err(failed)?;
        img.apply_orientation(orientation);
        Ok(img)
    }

    /// The photo as printed: centre-cropped to the field's aspect ratio and
    /// resampled to exactly `w` x `h` pixels.
    pub fn fitted(&self, w: u32, h: u32) -> Result<RgbImage, Rejection> {
        let img = self.decode()?.to_rgb8();
        Ok(fit(&img, w, h))
    }
}

/// Centre-crops to the target's aspect ratio and resamples with Lanczos3.
/// An image already at the exact size passes through untouched.
pub fn fit(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img.clone();
    }
    let (sw, sh) = img.dimensions();
    // Compare sw/sh with w/h without floating point.
    let (cw, ch) = if u64::from(sw) * u64::from(h) > u64::from(w) * u64::from(sh) {
        ((u64::from(sh) * u64::from(w) / u64::from(h)) as u32, sh)
    } else {
        (sw, (u64::from(sw) * u64::from(h) / u64::from(w)) as u32)
    };
    use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
    let mut out = RgbImage::new(w, h);
    let opts = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(
            f64::from((sw - cw) / 2),
            f64::from((sh - ch) / 2),
            f64::from(cw),
            f64::from(ch),
        );
    // SIMD Lanczos: the image crate's took 9 ms a card, this about half a ms.
    Resizer::new()
        .resize(img, &mut out, &opts)
        .expect("an RGB8 image resizes into an RGB8 image");
    out
}

fn turns_quarter(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// A JPEG ends with EOI after its last scan. Decoders fill a truncated scan
/// with grey rather than fail, so this is checked on the bytes. Inside a scan
/// 0xFF is always stuffed, so FF D9 there can only be the real end.
fn is_complete(jpeg: &[u8]) -> bool {
    let last_scan = memchr::memmem::rfind(jpeg, &[0xFF, 0xDA]);
    let end = memchr::memmem::rfind(jpeg, &[0xFF, 0xD9]);
    matches!((last_scan, end), (Some(s), Some(e)) if e > s)
}

/// A photo is in colour if it was decoded with colour channels and enough of
/// it has chroma: a grey picture saved as RGB is still grey.
/// More than 1% of the pixels with visible chroma.
fn has_chroma(pixels: impl Iterator<Item = [u8; 3]>) -> bool {
    let (mut all, mut coloured) = (0usize, 0usize);
    for [r, g, b] in pixels {
        all += 1;
        coloured += usize::from(r.max(g).max(b) - r.min(g).min(b) > 12);
    }
    coloured * 100 > all
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLOUR: &[u8] = include_bytes!("../../fixtures/photos/portrait-colour-570x780.jpg");
    const GREY: &[u8] = include_bytes!("../../fixtures/photos/portrait-grayscale-228x312.jpg");
    const SMALL: &[u8] = include_bytes!("../../fixtures/photos/portrait-too-small-114x156.jpg");

    #[test]
    fn fixtures_are_judged_as_the_contract_says() {
        assert!(Photo::from_jpeg(COLOUR.to_vec()).is_ok());
        assert_eq!(
            Photo::from_jpeg(GREY.to_vec()).unwrap_err().code,
            Code::PhotoNotColour
        );
        assert_eq!(
            Photo::from_jpeg(SMALL.to_vec()).unwrap_err().code,
            Code::PhotoTooSmall
        );
        assert_eq!(
            Photo::from_jpeg(b"GIF89a....".to_vec()).unwrap_err().code,
            Code::PhotoFormat
        );
        let cut = COLOUR[..COLOUR.len() / 2].to_vec();
        assert_eq!(Photo::from_jpeg(cut).unwrap_err().code, Code::PhotoFormat);
    }

    const CMYK: &[u8] = include_bytes!("../../fixtures/photos/portrait-cmyk-570x780.jpg");
    const PROGRESSIVE: &[u8] =
        include_bytes!("../../fixtures/photos/portrait-progressive-570x780.jpg");
    const ROTATED: &[u8] =
        include_bytes!("../../fixtures/photos/portrait-exif-rotated-780x570.jpg");

    fn mean_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        let total: u64 = a
            .pixels()
            .zip(b.pixels())
            .map(|(p, q)| {
                (0..3)
                    .map(|c| u64::from(p.0[c].abs_diff(q.0[c])))
                    .sum::<u64>()
            })
            .sum();
        total as f64 / (a.pixels().len() * 3) as f64
    }

    /// Mean colour of a patch of the suit (orange) and of the background.
    fn patch(img: &RgbImage, x0: u32, y0: u32) -> [f64; 3] {
        let mut sum = [0f64; 3];
        for y in y0..y0 + 20 {
            for x in x0..x0 + 20 {
                for (c, s) in sum.iter_mut().enumerate() {
                    *s += f64::from(img.get_pixel(x, y).0[c]) / 400.0;
                }
            }
        }
        sum
    }

    #[test]
    fn camera_variants_come_out_as_the_upright_source_without_colour_shifts() {
        let reference = Photo::from_jpeg(COLOUR.to_vec())
            .unwrap()
            .fitted(224, 307)
            .unwrap();
        for (name, bytes, tolerance) in [
            ("progressive", PROGRESSIVE, 3.0),
            ("exif-rotated", ROTATED, 3.0),
            ("cmyk", CMYK, 6.0),
        ] {
            let p = Photo::from_jpeg(bytes.to_vec()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.dimensions(), (570, 780), "{name} is upright");
            let fitted = p.fitted(224, 307).unwrap();
            let d = mean_diff(&fitted, &reference);
            assert!(d < tolerance, "{name} differs from the source by {d:.2}");
            for (x, y) in [(20, 270), (180, 20)] {
                let (a, b) = (patch(&fitted, x, y), patch(&reference, x, y));
                for c in 0..3 {
                    assert!(
                        (a[c] - b[c]).abs() < 8.0,
                        "{name}: patch at {x},{y} channel {c}: {:.1} vs {:.1}",
                        a[c],
                        b[c]
                    );
                }
            }
        }
    }

    #[test]
    fn resampling_keeps_the_colour_of_a_patch() {
        let src = Photo::from_jpeg(COLOUR.to_vec())
            .unwrap()
            .decode()
            .unwrap()
            .to_rgb8();
        let fitted = fit(&src, 224, 307);
        // The same patch in source coordinates (570 / 224 = 2.545 times larger).
        let scale = 570.0 / 224.0;
        for (x, y) in [(20u32, 270u32), (180, 20), (100, 100)] {
            let out = patch(&fitted, x, y);
            let mut want = [0f64; 3];
            let (sx0, sy0) = ((f64::from(x) * scale) as u32, (f64::from(y) * scale) as u32);
            let n = (20.0 * scale) as u32;
            for yy in sy0..sy0 + n {
                for xx in sx0..sx0 + n {
                    for (c, w) in want.iter_mut().enumerate() {
                        *w += f64::from(src.get_pixel(xx, yy).0[c]) / f64::from(n * n);
                    }
                }
            }
            for c in 0..3 {
                assert!(
                    (out[c] - want[c]).abs() < 4.0,
                    "patch {x},{y} channel {c}: {:.1} vs {:.1}",
                    out[c],
                    want[c]
                );
            }
        }
    }

    #[test]
    fn fitting_crops_around_the_centre_and_never_stretches() {
        // Left half red, right half blue, 400 x 300: landscape into 19:26.
        let img = RgbImage::from_fn(400, 300, |x, _| {
            if x < 200 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let out = fit(&img, 224, 307);
        assert_eq!(out.dimensions(), (224, 307));
        // The centre line of the source stays in the middle of the field.
        assert!(out.get_pixel(100, 150).0[0] > 200);
        assert!(out.get_pixel(124, 150).0[2] > 200);
        let same = RgbImage::from_pixel(224, 307, image::Rgb([1, 2, 3]));
        assert_eq!(fit(&same, 224, 307), same);
    }
}
