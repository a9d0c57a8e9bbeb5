//! The scenarios on a real printer: ignored unless asked for with
//! `--ignored`, and then LEGITKA_HW_PRINTER must name the printer.

use legitka_hw_tests::{calibration_print, identity_and_status, printer_under_test};

#[test]
#[ignore = "needs a real printer: LEGITKA_HW_PRINTER=... cargo test -p legitka-hw-tests -- --ignored"]
fn identity_and_status_are_read() {
    let mut p = printer_under_test().expect("LEGITKA_HW_PRINTER names the printer");
    identity_and_status(&mut p);
}

#[test]
#[ignore = "needs a real printer and two plain test cards"]
fn two_calibration_cards_print() {
    let mut p = printer_under_test().expect("LEGITKA_HW_PRINTER names the printer");
    calibration_print(&mut p);
}
