//! The driver and the simulator over a real pseudo-terminal through
//! `serialport`: what the driver sends is what the simulator prints.

use image::{Rgb, RgbImage};
use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings};
use legitka_drivers::transport::SerialTransport;
use legitka_drivers::{Capabilities, Cause, Mono, PanelSet, PrintError, Printer, PrinterState};
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const W: u32 = 1016;
const H: u32 = 648;

fn caps() -> Capabilities {
    Capabilities {
        dpi: 300,
        width_px: W,
        height_px: H,
        ribbons: vec!["YMCKO".into()],
        duplex: false,
    }
}

fn start() -> (SimHandle, EvolisPrinter) {
    start_with(SimConfig::default())
}

fn start_with(config: SimConfig) -> (SimHandle, EvolisPrinter) {
    let sim = SimHandle::new(SimPrinter::new(config));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    let link = SerialTransport::open(&path).unwrap();
    let printer =
        EvolisPrinter::connect(Box::new(link), EvolisSettings::default(), caps()).unwrap();
    (sim, printer)
}

fn test_card() -> PanelSet {
    // A gradient with distinct hues so a swapped or shifted panel shows.
    let colour = RgbImage::from_fn(W, H, |x, y| {
        Rgb([
            (x * 255 / W) as u8,
            (y * 255 / H) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut black = Mono::new(W, H);
    for x in 100..300 {
        black.set(x, 500, true);
    }
    PanelSet {
        colour: Some(colour),
        black: Some(black),
        overlay: Some(Mono::filled(W, H)),
    }
}

#[test]
fn a_long_running_simulator_keeps_only_its_newest_cards_in_memory_and_counts_all() {
    let (sim, mut printer) = start_with(SimConfig {
        keep_printed: Some(2),
        ..SimConfig::default()
    });
    for _ in 0..5 {
        printer.print(&test_card()).unwrap();
    }
    assert_eq!(sim.printed_count(), 5, "every card counted");
    let kept: Vec<u64> = sim.with(|p| p.printed().iter().map(|c| c.number).collect());
    assert_eq!(kept, [4, 5], "the newest two kept");
}

#[test]
fn a_card_round_trips_through_the_simulator_pixel_for_pixel() {
    let (sim, mut printer) = start();
    assert_eq!(printer.identity().serial, "SIM-000001");
    let card = test_card();
    let report = printer.print(&card).unwrap();
    assert_eq!(report.counter, 5, "five panels printed");
    let printed = sim.with(|p| p.printed()[0].clone());
    assert_eq!(printed.panels, vec!['c', 'k', 'm', 'o', 'y']);
    assert_eq!(printed.black, *card.black.as_ref().unwrap());
    assert_eq!(
        printed.overlay.as_ref().unwrap().count_set(),
        (W * H) as usize
    );
    let src = card.colour.as_ref().unwrap();
    let mut worst = 0i32;
    for (x, y, p) in printed.image.enumerate_pixels() {
        if card.black.as_ref().unwrap().get(x, y) {
            assert_eq!(p.0, [0, 0, 0]);
            continue;
        }
        for c in 0..3 {
            worst = worst.max((i32::from(p.0[c]) - i32::from(src.get_pixel(x, y).0[c])).abs());
        }
    }
    // 7-bit colour loses at most one step of 255/127.
    assert!(worst <= 2, "colour differs by {worst}");
}

#[test]
fn a_jam_spoils_the_blank_and_the_cause_is_read_back() {
    let (sim, mut printer) = start();
    sim.with(|p| p.faults.fail_card = Some((1, Cause::CardJam)));
    let err = printer.print(&test_card()).unwrap_err();
    assert!(
        matches!(
            err,
            PrintError::Spoiled {
                cause: Cause::CardJam,
                ..
            }
        ),
        "{err:?}"
    );
    let st = printer.status().unwrap();
    assert_eq!(st.state, PrinterState::Error);
    assert_eq!(st.detail, Some(Cause::CardJam));
    assert_eq!(sim.printed_count(), 0);
    // Cleared, the next card prints.
    sim.with(|p| p.faults = Default::default());
    printer.print(&test_card()).unwrap();
    assert_eq!(sim.printed_count(), 1);
}

/// The SDK-style status words, for a profile that opts in, read the same
/// card and the same fault as the documented commands.
#[test]
fn the_status_words_when_a_profile_opts_in_read_the_same_states() {
    use legitka_drivers::evolis::StatusQuery;
    let sim = SimHandle::new(SimPrinter::new(SimConfig::default()));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    let link = SerialTransport::open(&path).unwrap();
    let settings = EvolisSettings {
        status: StatusQuery::Words("Rst".into()),
        ..EvolisSettings::default()
    };
    let mut printer = EvolisPrinter::connect(Box::new(link), settings, caps()).unwrap();
    assert_eq!(printer.status().unwrap().state, PrinterState::Ready);
    printer.print(&test_card()).unwrap();
    sim.with(|p| p.faults.active = Some(Cause::CoverOpen));
    let st = printer.status().unwrap();
    assert_eq!(
        (st.state, st.detail),
        (PrinterState::Error, Some(Cause::CoverOpen))
    );
}

#[test]
fn every_documented_state_reads_back_from_the_simulator() {
    let (sim, mut printer) = start();
    let read = |printer: &mut EvolisPrinter| {
        let st = printer.status().unwrap();
        (st.state, st.detail)
    };
    assert_eq!(read(&mut printer), (PrinterState::Ready, None));
    for cause in [Cause::CoverOpen, Cause::CardJam, Cause::NoRibbon] {
        sim.with(|p| p.faults.active = Some(cause));
        assert_eq!(read(&mut printer), (PrinterState::Error, Some(cause)));
        // A job refused for it uses no blank.
        let err = printer.print(&test_card()).unwrap_err();
        assert!(
            matches!(err, PrintError::NotReady(c) if c == cause),
            "{err:?}"
        );
    }
    sim.with(|p| {
        p.faults.active = None;
        p.replace_ribbon(4);
    });
    assert_eq!(
        read(&mut printer),
        (PrinterState::Warning, Some(Cause::RibbonLow))
    );
    sim.with(|p| {
        p.replace_ribbon(300);
        p.take_all_blanks();
    });
    let st = printer.status().unwrap();
    assert_eq!(
        (st.state, st.detail, st.feeder_empty),
        (PrinterState::Warning, Some(Cause::FeederEmpty), true)
    );
    assert!(!st.can_print());
    // A card asked for with the feeder empty is refused before any job.
    let before = sim.with(|p| p.jobs_started());
    let err = printer.print(&test_card()).unwrap_err();
    assert!(
        matches!(err, PrintError::NotReady(Cause::FeederEmpty)),
        "{err:?}"
    );
    assert_eq!(sim.with(|p| p.jobs_started()), before);
}

#[test]
fn a_download_cut_off_by_a_killed_station_does_not_wedge_the_next_connection() {
    let sim = SimHandle::new(SimPrinter::new(SimConfig::default()));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    // The first station dies a third of the way into a colour panel: the
    // printer is left counting bytes into it.
    {
        use legitka_drivers::transport::Transport;
        let mut dying = SerialTransport::open(&path).unwrap();
        let mut cut = b"\x1bDb;y;128;".to_vec();
        cut.extend(std::iter::repeat_n(0x55u8, (W * H / 3) as usize));
        dying.write_all(&cut).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let link = SerialTransport::open(&path).unwrap();
    let mut printer = EvolisPrinter::connect(Box::new(link), EvolisSettings::default(), caps())
        .expect("the printer is found again");
    assert_eq!(printer.identity().serial, "SIM-000001");
    let card = test_card();
    let report = printer.print(&card).expect("the next card prints");
    assert_eq!(report.counter, 5, "five panels printed");
    let printed = sim.with(|p| p.printed()[0].clone());
    assert_eq!(printed.black, *card.black.as_ref().unwrap());
}
