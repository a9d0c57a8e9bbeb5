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
//! Not wired into the driver yet (issue 10): the encoder and the decoder
//! stand side by side here so the driver and the simulator share them.

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

/// Line-compresses a 1-bit panel of `LINE_BYTES`-byte lines as the vendor
/// does.
pub fn encode_lines(panel: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(panel.len() / 4);
    for line in panel.chunks(LINE_BYTES) {
        if line.iter().all(|&b| b == 0) {
            out.push(0x00);
        } else if line.len() == LINE_BYTES && line.iter().all(|&b| b == 0xff) {
            out.push(0xff);
        } else {
            let n = line.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            out.push(n as u8);
            out.extend_from_slice(&line[..n]);
        }
    }
    out
}

/// Decodes exactly `lines` line-compressed lines; anything after them, or
/// a line that does not end, is an error (a printer would take the rest
/// as the next command).
pub fn decode_lines(data: &[u8], lines: usize) -> Result<Vec<u8>, DbcError> {
    let mut out = Vec::with_capacity(lines * LINE_BYTES);
    let mut at = 0;
    for line in 0..lines {
        let &h = data.get(at).ok_or(DbcError::Truncated { line })?;
        at += 1;
        match h {
            0x00 => out.extend_from_slice(&[0u8; LINE_BYTES]),
            0xff => out.extend_from_slice(&[0xffu8; LINE_BYTES]),
            n if (n as usize) <= LINE_BYTES => {
                let n = n as usize;
                let bytes = data.get(at..at + n).ok_or(DbcError::Truncated { line })?;
                out.extend_from_slice(bytes);
                out.extend(std::iter::repeat_n(0u8, LINE_BYTES - n));
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
            let pixels = decode_lines(&data, LINES).unwrap();
            assert_eq!(pixels.len(), LINES * LINE_BYTES);
            let inked: u32 = pixels.iter().map(|b| b.count_ones()).sum();
            assert!(inked > 1000, "{name}: the panel has ink ({inked} dots)");
            assert_eq!(
                encode_lines(&pixels),
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
        let data = encode_lines(&panel);
        assert_eq!(&data[..2], &[0x00, 0xff], "a white line, a black line");
        assert_eq!(
            &data[2..7],
            &[4, 0, 0, 0, 0x80],
            "leading white kept, trailing dropped"
        );
        assert_eq!(decode_lines(&data, LINES).unwrap(), panel);
    }

    #[test]
    fn a_malformed_payload_is_refused_not_guessed() {
        assert_eq!(
            decode_lines(&[82], 1),
            Err(DbcError::BadHeader { line: 0, byte: 82 })
        );
        assert_eq!(
            decode_lines(&[3, 1, 2], 1),
            Err(DbcError::Truncated { line: 0 })
        );
        assert_eq!(
            decode_lines(&[0, 0], 1),
            Err(DbcError::Trailing { extra: 1 })
        );
        assert_eq!(decode_lines(&[0], 2), Err(DbcError::Truncated { line: 1 }));
    }
}
