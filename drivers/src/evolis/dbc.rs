//! `Dbc` line compression of the K (resin) and O (overlay) panels, as the
//! Evolis programming guide A5013 defines it (Rev. E p.5-6, Rev. D2
//! p.5-6) and the vendor's own Windows driver writes it (the captures in
//! `fixtures/evolis-captures/`, re-encoded here byte for byte).
//!
//! A panel is 1016 lines of 648 pixels, 81 bytes a line, first pixel in
//! the top bit, 1 = ink. Each line starts with one byte: 0 a white line,
//! 255 a black line, N in 1..=81 the line's first N bytes follow and the
//! rest are white. The vendor's N is the index of the last byte that is
//! not white: leading white bytes are sent, trailing ones are not.
//!
//! The Y, M and C panels are run-length coded (the guide's p.5; no
//! vendor capture of a colour panel exists, so this follows the guide's
//! text and its open points are settled below). One byte per pixel: with
//! the top bit clear, one dot of the value in the low 7, 6 or 5 bits (128,
//! 64, 32 levels); with it set, the value's run, its length in the next
//! byte, plus 256 for each of bits 6 (64 and 32 levels) and 5 (32 levels).
//! A run of length 0 (`80 00`) is a blank rest of the line. Settled here:
//! runs never cross a line; 0 is no ink; a counter byte of 0 with a length
//! bit set counts 256 (the encoder never writes it, so either reading of
//! the guide decodes what it sends).
//!
//! The encoder and the decoder stand side by side here so the driver and
//! the simulator share them (`wire.rs` puts panels through them).

use thiserror::Error;

/// Bytes in one line of a 1-bit panel (648 pixels).
pub const LINE_BYTES: usize = 81;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DbcError {
    #[error("line {line}: header byte {byte} is none of 0, 255, 1..=81")]
    BadHeader { line: usize, byte: u8 },
    #[error("line {line}: the data ends inside the line")]
    Truncated { line: usize },
    #[error("{extra} bytes after the last line")]
    Trailing { extra: usize },
}

/// Line-compresses a 1-bit panel of `line_bytes`-byte lines (`LINE_BYTES`
/// on every Evolis printer; smaller in tests) as the vendor does.
pub fn encode_lines(panel: &[u8], line_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(panel.len() / 4);
    for line in panel.chunks(line_bytes) {
        encode_line(line, line_bytes, &mut out);
    }
    out
}

/// One line of [`encode_lines`], appended to `out`.
pub fn encode_line(line: &[u8], line_bytes: usize, out: &mut Vec<u8>) {
    {
        if line.iter().all(|&b| b == 0) {
            out.push(0x00);
        } else if line.len() == line_bytes && line.iter().all(|&b| b == 0xff) {
            out.push(0xff);
        } else {
            let n = line.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            out.push(n as u8);
            out.extend_from_slice(&line[..n]);
        }
    }
}

/// Decodes exactly `lines` line-compressed lines; anything after them, or
/// a line that does not end, is an error (a printer would take the rest
/// as the next command).
pub fn decode_lines(data: &[u8], lines: usize, line_bytes: usize) -> Result<Vec<u8>, DbcError> {
    let mut out = Vec::with_capacity(lines * line_bytes);
    let mut at = 0;
    for line in 0..lines {
        let &h = data.get(at).ok_or(DbcError::Truncated { line })?;
        at += 1;
        match h {
            0x00 => out.resize(out.len() + line_bytes, 0),
            0xff => out.resize(out.len() + line_bytes, 0xff),
            n if (n as usize) <= line_bytes => {
                let n = n as usize;
                let bytes = data.get(at..at + n).ok_or(DbcError::Truncated { line })?;
                out.extend_from_slice(bytes);
                out.resize(out.len() + line_bytes - n, 0);
                at += n;
            }
            byte => return Err(DbcError::BadHeader { line, byte }),
        }
    }
    if at != data.len() {
        return Err(DbcError::Trailing {
            extra: data.len() - at,
        });
    }
    Ok(out)
}

/// Pixels in one line of a panel.
pub const LINE_PIXELS: usize = 648;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RunError {
    #[error("{0} levels: only 32, 64 and 128 are run-length coded")]
    Levels(u32),
    #[error("line {line}: a run of {count} reaches past the line's end")]
    Overrun { line: usize, count: usize },
    #[error("line {line}: the data ends inside the line")]
    Truncated { line: usize },
    #[error("{extra} bytes after the last line")]
    Trailing { extra: usize },
}

/// (value mask, longest run) for a colour depth.
fn depth(levels: u32) -> Result<(u8, usize), RunError> {
    match levels {
        128 => Ok((0x7f, 255)),
        64 => Ok((0x3f, 256 + 255)),
        32 => Ok((0x1f, 256 + 256 + 255)),
        other => Err(RunError::Levels(other)),
    }
}

/// Run-length codes a colour panel of `line_pixels`-pixel lines
/// (`LINE_PIXELS` on every Evolis printer), one value (0 = no ink, below
/// `levels`) per pixel.
pub fn encode_runs(values: &[u8], levels: u32, line_pixels: usize) -> Result<Vec<u8>, RunError> {
    let mut out = Vec::new();
    for line in values.chunks(line_pixels) {
        encode_run_line(line, levels, &mut out)?;
    }
    Ok(out)
}

/// One line of [`encode_runs`], appended to `out`.
pub fn encode_run_line(line: &[u8], levels: u32, out: &mut Vec<u8>) -> Result<(), RunError> {
    let (mask, longest) = depth(levels)?;
    // Past the last dot the line is blank: one mark says so.
    let end = line
        .iter()
        .rposition(|&p| p & mask != 0)
        .map_or(0, |i| i + 1);
    let mut x = 0;
    while x < end {
        let v = line[x] & mask;
        let mut run = 1 + line[x + 1..end]
            .iter()
            .take_while(|&&p| p & mask == v)
            .count();
        x += run;
        while run > 0 {
            if run == 1 {
                out.push(v);
                break;
            }
            let mut n = run.min(longest);
            // A counter byte of 0 is read as "blank line" by some
            // readings of the guide: never write one.
            if n % 256 == 0 {
                n -= 1;
            }
            let (hi, lo) = (n / 256, (n % 256) as u8);
            let extra = match hi {
                0 => 0,
                1 => 0x40,
                _ => 0x60,
            };
            out.extend_from_slice(&[0x80 | extra | v, lo]);
            run -= n;
        }
    }
    if end < line.len() {
        out.extend_from_slice(&[0x80, 0x00]);
    }
    Ok(())
}

/// Decodes `lines` run-length coded lines to one value per pixel.
pub fn decode_runs(
    data: &[u8],
    levels: u32,
    lines: usize,
    line_pixels: usize,
) -> Result<Vec<u8>, RunError> {
    let (mask, _) = depth(levels)?;
    let mut out = Vec::with_capacity(lines * line_pixels);
    let mut at = 0;
    for line in 0..lines {
        let start = out.len();
        while out.len() - start < line_pixels {
            let &b = data.get(at).ok_or(RunError::Truncated { line })?;
            at += 1;
            if b & 0x80 == 0 {
                out.push(b & mask);
                continue;
            }
            let &c = data.get(at).ok_or(RunError::Truncated { line })?;
            at += 1;
            let mut count = usize::from(c);
            if levels <= 64 && b & 0x40 != 0 {
                count += 256;
            }
            if levels == 32 && b & 0x20 != 0 {
                count += 256;
            }
            if count == 0 {
                out.resize(start + line_pixels, 0);
                break;
            }
            let done = out.len() - start;
            if done + count > line_pixels {
                return Err(RunError::Overrun { line, count });
            }
            out.extend(std::iter::repeat_n(b & mask, count));
        }
    }
    if at != data.len() {
        return Err(RunError::Trailing {
            extra: data.len() - at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: usize = 1016;

    /// The `Dbc` payload of a captured job: found by its header, read by
    /// its byte count (the data holds CR and ESC bytes of its own).
    fn capture(name: &str) -> (String, Vec<u8>) {
        let path = format!(
            "{}/../fixtures/evolis-captures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let job = std::fs::read(path).unwrap();
        let at = job
            .windows(4)
            .position(|w| w == b"\x1bDbc")
            .expect("a Dbc command");
        let header_end = at + 1 + job[at + 1..].iter().position(|&b| b == b';').unwrap();
        let fields: Vec<&[u8]> = job[header_end + 1..].splitn(4, |&b| b == b';').collect();
        let (panel, levels, count) = (
            String::from_utf8(fields[0].to_vec()).unwrap(),
            std::str::from_utf8(fields[1]).unwrap(),
            std::str::from_utf8(fields[2])
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
        assert_eq!(levels, "2");
        let data_at = header_end + 1 + fields[0].len() + fields[1].len() + fields[2].len() + 3;
        let data = job[data_at..data_at + count].to_vec();
        assert_eq!(
            job[data_at + count],
            0x0d,
            "the command ends right after its byte count"
        );
        (panel, data)
    }

    #[test]
    fn the_vendors_captured_panels_decode_and_encode_back_byte_for_byte() {
        for (name, size) in [("evolis-card-text", 83_223), ("card-white-fit", 42_912)] {
            let (panel, data) = capture(name);
            assert_eq!((panel.as_str(), data.len()), ("k", size), "{name}");
            let pixels = decode_lines(&data, LINES, LINE_BYTES).unwrap();
            assert_eq!(pixels.len(), LINES * LINE_BYTES);
            let inked: u32 = pixels.iter().map(|b| b.count_ones()).sum();
            assert!(inked > 1000, "{name}: the panel has ink ({inked} dots)");
            assert_eq!(
                encode_lines(&pixels, LINE_BYTES),
                data,
                "{name}: re-encoded as the vendor did"
            );
        }
    }

    #[test]
    fn white_and_black_lines_take_one_byte_and_random_panels_round_trip() {
        let mut panel = vec![0u8; LINES * LINE_BYTES];
        panel[LINE_BYTES..2 * LINE_BYTES].fill(0xff);
        panel[2 * LINE_BYTES + 3] = 0x80;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for b in panel[10 * LINE_BYTES..].iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Mostly white, as a card's resin panel is.
            *b = if seed.is_multiple_of(5) {
                seed as u8
            } else {
                0
            };
        }
        let data = encode_lines(&panel, LINE_BYTES);
        assert_eq!(&data[..2], &[0x00, 0xff], "a white line, a black line");
        assert_eq!(
            &data[2..7],
            &[4, 0, 0, 0, 0x80],
            "leading white kept, trailing dropped"
        );
        assert_eq!(decode_lines(&data, LINES, LINE_BYTES).unwrap(), panel);
    }

    #[test]
    fn a_malformed_payload_is_refused_not_guessed() {
        assert_eq!(
            decode_lines(&[82], 1, LINE_BYTES),
            Err(DbcError::BadHeader { line: 0, byte: 82 })
        );
        assert_eq!(
            decode_lines(&[3, 1, 2], 1, LINE_BYTES),
            Err(DbcError::Truncated { line: 0 })
        );
        assert_eq!(
            decode_lines(&[0, 0], 1, LINE_BYTES),
            Err(DbcError::Trailing { extra: 1 })
        );
        assert_eq!(
            decode_lines(&[0], 2, LINE_BYTES),
            Err(DbcError::Truncated { line: 1 })
        );
    }

    #[test]
    fn colour_runs_round_trip_at_every_depth_the_guide_lists() {
        for levels in [32u32, 64, 128] {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(levels);
            let mut values = vec![0u8; LINES * LINE_PIXELS];
            for (i, v) in values.iter_mut().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let line = i / LINE_PIXELS;
                *v = match line % 4 {
                    0 => 0,                                             // blank
                    1 => (line % levels as usize) as u8,                // one value
                    2 => (seed % u64::from(levels)) as u8,              // noise
                    _ => ((i % LINE_PIXELS) / 40) as u8 % levels as u8, // steps
                };
            }
            let data = encode_runs(&values, levels, LINE_PIXELS).unwrap();
            assert_eq!(
                decode_runs(&data, levels, LINES, LINE_PIXELS).unwrap(),
                values,
                "{levels} levels"
            );
            // Flat lines are short; noise costs a byte a dot.
            assert!(data.len() < values.len(), "{levels}: {} bytes", data.len());
        }
    }

    #[test]
    fn runs_are_written_as_the_guide_draws_them() {
        let line = |v: u8| vec![v; LINE_PIXELS];
        // 128 levels: 648 dots of 5 in runs of at most 255.
        assert_eq!(
            encode_runs(&line(5), 128, LINE_PIXELS).unwrap(),
            [0x85, 0xff, 0x85, 0xff, 0x85, 0x8a]
        );
        // 32 levels: one run, both length bits set (256 + 256 + 136).
        assert_eq!(
            encode_runs(&line(3), 32, LINE_PIXELS).unwrap(),
            [0xe3, 0x88]
        );
        // 64 levels: 511 then 137.
        assert_eq!(
            encode_runs(&line(7), 64, LINE_PIXELS).unwrap(),
            [0xc7, 0xff, 0x87, 0x89]
        );
        // A blank line, and a dot then a blank rest.
        assert_eq!(
            encode_runs(&line(0), 64, LINE_PIXELS).unwrap(),
            [0x80, 0x00]
        );
        let mut dot = line(0);
        dot[0] = 18;
        assert_eq!(
            encode_runs(&dot, 128, LINE_PIXELS).unwrap(),
            [18, 0x80, 0x00]
        );
        // A run of exactly 256 is never written with a counter byte of 0.
        let mut v = line(0);
        v[..256].fill(9);
        let data = encode_runs(&v, 64, LINE_PIXELS).unwrap();
        assert_eq!(data, [0x89, 0xff, 9, 0x80, 0x00]);
    }

    #[test]
    fn a_run_past_the_line_or_a_cut_off_panel_is_refused() {
        assert_eq!(
            decode_runs(&[0x85, 0xff, 0x85, 0xff, 0x85, 0xff], 128, 1, LINE_PIXELS),
            Err(RunError::Overrun {
                line: 0,
                count: 255
            })
        );
        assert_eq!(
            decode_runs(&[0x85], 128, 1, LINE_PIXELS),
            Err(RunError::Truncated { line: 0 })
        );
        assert_eq!(
            decode_runs(&[0x80, 0x00, 0x01], 128, 1, LINE_PIXELS),
            Err(RunError::Trailing { extra: 1 })
        );
        assert_eq!(encode_runs(&[0], 2, LINE_PIXELS), Err(RunError::Levels(2)));
    }
}
