//! Issue 7: a reply the driver does not expect while a card may be printing
//! (line noise, an unknown `ERROR ...`) must never be taken for a spoiled
//! blank, or the card is printed twice. The driver waits for the printer to
//! settle and judges from its counter and status; only a fault the printer
//! reports in its status spoils a blank.
//!
//! The driver and the real simulator over a pseudo-terminal, as in
//! `roundtrip.rs`; each card takes 300 ms, so the counter has not moved yet
//! when the reply to `Se` arrives.

use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings};
use legitka_drivers::transport::SerialTransport;
use legitka_drivers::{Capabilities, Cause, Mono, PanelSet, PrintError, Printer, PrinterState};
use legitka_sim::{spawn_pty, OddReply, SimConfig, SimHandle, SimPrinter, LINE_NOISE};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

const W: u32 = 1016;
const H: u32 = 648;
const CARD_TIME: Duration = Duration::from_millis(300);

fn start_with(card_timeout: Duration) -> (SimHandle, EvolisPrinter) {
    let sim = SimHandle::new(SimPrinter::new(SimConfig {
        card_time: CARD_TIME,
        ..SimConfig::default()
    }));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    let link = SerialTransport::open(&path).unwrap();
    let caps = Capabilities {
        dpi: 300,
        width_px: W,
        height_px: H,
        ribbons: vec!["YMCKO".into()],
        duplex: false,
    };
    let settings = EvolisSettings {
        card_timeout,
        ..EvolisSettings::default()
    };
    let printer = EvolisPrinter::connect(Box::new(link), settings, caps).unwrap();
    (sim, printer)
}

fn start() -> (SimHandle, EvolisPrinter) {
    start_with(Duration::from_secs(10))
}

fn card() -> PanelSet {
    let mut black = Mono::new(W, H);
    for x in 100..300 {
        black.set(x, 500, true);
    }
    PanelSet {
        colour: Some(image::RgbImage::from_pixel(W, H, image::Rgb([200, 30, 90]))),
        black: Some(black),
        overlay: Some(Mono::filled(W, H)),
    }
}

fn odd(sim: &SimHandle, card: u64, command: &str, text: &str) {
    sim.with(|p| {
        p.faults.odd_reply = Some(OddReply {
            card,
            command: command.into(),
            text: text.into(),
        })
    });
}

/// Prints card 1 with an odd reply to `Se` and checks it came out once and
/// the driver says so.
fn se_answered_with(text: &str) {
    let (sim, mut printer) = start();
    odd(&sim, 1, "Se", text);
    let result = printer.print(&card());
    assert!(
        sim.with(|p| p.faults.odd_reply.is_none()),
        "the odd reply was sent"
    );
    let report = result.unwrap_or_else(|e| panic!("Se answered {text:?}: {e:?}"));
    assert_eq!(report.counter, 5, "five panels printed");
    assert!(report.bytes_sent > 10_000, "{}", report.bytes_sent);
    assert_eq!(sim.printed_count(), 1);
    assert_eq!(sim.with(|p| p.jobs_started()), 1);
    // The line is in step again: the next card prints normally.
    assert_eq!(printer.print(&card()).unwrap().counter, 10);
    assert_eq!(sim.printed_count(), 2);
}

#[test]
fn an_unknown_error_reply_to_se_is_not_a_spoiled_blank() {
    se_answered_with("ERROR FOO");
}

#[test]
fn line_noise_in_place_of_ok_to_se_is_not_a_spoiled_blank() {
    se_answered_with(LINE_NOISE);
}

#[test]
fn a_known_error_reply_to_se_the_status_does_not_confirm_is_not_a_spoiled_blank() {
    // "ERROR MECA" is in the vendor library's strings; but the card printed
    // and the counter says so.
    se_answered_with("ERROR MECA");
}

#[test]
fn noise_with_its_own_line_end_before_ok_to_se_leaves_the_line_in_step() {
    // Noise that ends in CR is a reply of its own; the real OK follows.
    se_answered_with("#~x\rOK");
}

#[test]
fn line_noise_in_place_of_the_status_while_printing_is_read_again() {
    let (sim, mut printer) = start();
    odd(&sim, 1, "Rlr;p", LINE_NOISE);
    let report = printer.print(&card()).unwrap();
    assert_eq!(report.counter, 5);
    assert_eq!(sim.printed_count(), 1);
}

#[test]
fn line_noise_in_place_of_the_card_counter_after_printing_is_read_again() {
    let (sim, mut printer) = start();
    odd(&sim, 1, "Rco;p", "ERROR FOO");
    let report = printer.print(&card()).unwrap();
    assert_eq!(report.counter, 5);
    assert_eq!(sim.printed_count(), 1);
}

/// Before `Se` nothing prints; the blank is in the printer with half a job
/// and only an operator can say what became of it.
fn download_answered_with(command: &str) {
    let (sim, mut printer) = start();
    odd(&sim, 1, command, LINE_NOISE);
    let err = printer.print(&card()).unwrap_err();
    assert!(
        matches!(err, PrintError::MidCard { .. }),
        "{command} answered with noise: {err:?}"
    );
    assert!(sim.with(|p| p.faults.odd_reply.is_none()));
    assert_eq!(sim.printed_count(), 0);
    assert_eq!(sim.with(|p| p.jobs_started()), 1);
}

#[test]
fn line_noise_in_place_of_ok_to_a_panel_download_holds_the_card() {
    download_answered_with("Db;m");
}

#[test]
fn line_noise_in_place_of_ok_to_sr_holds_the_card() {
    download_answered_with("Sr");
}

#[test]
fn a_jam_mid_card_still_spoils_the_blank() {
    let (sim, mut printer) = start();
    sim.with(|p| p.faults.fail_card = Some((1, Cause::CardJam)));
    let err = printer.print(&card()).unwrap_err();
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
    assert_eq!(sim.printed_count(), 0);
}

#[test]
fn a_jam_after_an_odd_reply_to_se_spoils_the_blank_as_the_status_says() {
    let (sim, mut printer) = start();
    odd(&sim, 1, "Se", "ERROR FOO");
    sim.with(|p| p.faults.fail_card = Some((1, Cause::CoverOpen)));
    let err = printer.print(&card()).unwrap_err();
    assert!(
        matches!(
            err,
            PrintError::Spoiled {
                cause: Cause::CoverOpen,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(sim.printed_count(), 0);
    let st = printer.status().unwrap();
    assert_eq!(
        (st.state, st.detail),
        (PrinterState::Error, Some(Cause::CoverOpen))
    );
}

#[test]
fn a_printer_still_busy_after_the_card_budget_holds_the_card() {
    let (sim, mut printer) = start_with(Duration::from_millis(100));
    odd(&sim, 1, "Se", "ERROR FOO");
    let err = printer.print(&card()).unwrap_err();
    assert!(matches!(err, PrintError::MidCard { .. }), "{err:?}");
    // It was printing all along: the card comes out, once.
    assert!(sim.wait_until(Duration::from_secs(5), |p| p.printed().len() == 1));
    assert_eq!(sim.with(|p| p.jobs_started()), 1);
}
