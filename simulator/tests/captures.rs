//! The vendor's own jobs, as its Windows driver sent them (`fixtures/
//! evolis-captures/`), fed to the simulator byte for byte over TCP and over
//! a pseudo-terminal: the three-parameter `Dbc` header, NUL padding, `Se;1`
//! and parameter commands the simulator has no use for. The K panel it
//! prints is compared with a decoding of the capture written here from the
//! guide's definition (A5013 rev. E p.5-6), independent of `dbc.rs`.

use legitka_drivers::evolis::wire;
use legitka_drivers::transport::{SerialTransport, Transport};
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter, TcpListenerLink};
use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

const LINES: usize = 1016;
const LINE_PIXELS: usize = 648;
const LINE_BYTES: usize = 81;

fn capture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/evolis-captures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The K panel of a capture as wire lines of bits, read from the guide's
/// text alone: after `ESC Dbc;k;2;<count>;`, each line is 0 (white), 255
/// (black) or N followed by the line's first N bytes.
fn k_panel_by_the_guide(job: &[u8]) -> Vec<Vec<bool>> {
    let head = b"\x1bDbc;k;2;";
    let at = job
        .windows(head.len())
        .position(|w| w == head)
        .expect("the capture holds a compressed K panel")
        + head.len();
    let semi = job[at..].iter().position(|b| *b == b';').unwrap();
    let count: usize = std::str::from_utf8(&job[at..at + semi])
        .unwrap()
        .parse()
        .unwrap();
    let data = &job[at + semi + 1..at + semi + 1 + count];
    let mut lines = Vec::new();
    let mut i = 0;
    while lines.len() < LINES {
        let n = data[i];
        i += 1;
        let bytes: Vec<u8> = match n {
            0 => vec![0; LINE_BYTES],
            255 => vec![255; LINE_BYTES],
            n => {
                let mut v = data[i..i + n as usize].to_vec();
                i += n as usize;
                v.resize(LINE_BYTES, 0);
                v
            }
        };
        lines.push(
            (0..LINE_PIXELS)
                .map(|p| bytes[p / 8] & (0x80 >> (p % 8)) != 0)
                .collect(),
        );
    }
    assert_eq!(i, count, "the panel's lines use exactly its byte count");
    lines
}

fn sim() -> SimHandle {
    SimHandle::new(SimPrinter::new(SimConfig::default()))
}

/// What the simulator printed from `job` matches the guide's decoding.
fn check_printed(sim: &SimHandle, job: &[u8], replies: &str, name: &str) {
    assert!(
        sim.wait_until(Duration::from_secs(20), |p| p.printed().len() == 1),
        "{name}: no card printed; replies {replies:?}"
    );
    assert!(!replies.contains("ERROR"), "{name}: {replies:?}");
    let card = sim.with(|p| p.printed()[0].clone());
    assert_eq!(card.panels, vec!['k'], "{name}");
    let lines = k_panel_by_the_guide(job);
    let mut ink = 0;
    // Wire line x is card column x, its pixels from the card's bottom up.
    for (x, line) in lines.iter().enumerate() {
        for (i, &on) in line.iter().enumerate() {
            let y = (LINE_PIXELS - 1 - i) as u32;
            assert_eq!(card.black.get(x as u32, y), on, "{name}: pixel {x},{y}");
            ink += usize::from(on);
        }
    }
    assert!(ink > 1000, "{name}: the panel carries text ({ink} dots)");
}

/// Reads whatever the simulator answers until it falls silent.
fn read_replies(read: &mut dyn FnMut(&mut [u8]) -> usize) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    let mut quiet = 0;
    while quiet < 5 {
        match read(&mut buf) {
            0 => quiet += 1,
            n => {
                quiet = 0;
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "|")
}

#[test]
fn the_vendors_jobs_print_over_tcp_as_the_guide_decodes_them() {
    for name in ["evolis-card-text", "card-white-fit"] {
        let job = capture(name);
        let sim = sim();
        let listener = TcpListenerLink::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (sim.clone(), stop.clone());
        let server = std::thread::spawn(move || listener.run(s, st));
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        tcp.write_all(&job).unwrap();
        let replies = read_replies(&mut |b| tcp.read(b).unwrap_or(0));
        check_printed(&sim, &job, &replies, name);
        // Every command answered: OK for each, nothing refused, no frame
        // taken as garbage.
        let mut parser = wire::Parser::new(1016, 648);
        parser.push(&job);
        let mut commands = 0;
        while let Some(f) = parser.next_frame() {
            assert!(!matches!(f, wire::Frame::Garbage(_)), "{name}: {f:?}");
            commands += 1;
        }
        assert_eq!(
            replies.matches("OK|").count(),
            commands,
            "{name}: {replies}"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(tcp);
        server.join().unwrap().unwrap();
    }
}

#[test]
fn the_vendors_jobs_print_over_a_serial_line_as_the_guide_decodes_them() {
    for name in ["evolis-card-text", "card-white-fit"] {
        let job = capture(name);
        let sim = sim();
        let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
        let mut line = SerialTransport::open(&path).unwrap();
        line.write_all(&job).unwrap();
        let replies =
            read_replies(&mut |b| line.read_some(b, Duration::from_millis(200)).unwrap_or(0));
        check_printed(&sim, &job, &replies, name);
    }
}
