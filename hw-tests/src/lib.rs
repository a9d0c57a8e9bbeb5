//! Scenarios against a real card printer. Each test is skipped unless
//! `LEGITKA_HW_PRINTER` names a printer (`serial:/dev/ttyUSB0`,
//! `tcp://host:9100`, `usb:0f49:0001`); see README.md for what each prints.

use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings};
use legitka_drivers::{open_uri, Capabilities, PrinterUri};

/// The printer under test, or `None` (and a note) when none is named.
pub fn printer_under_test() -> Option<EvolisPrinter> {
    let Ok(uri) = std::env::var("LEGITKA_HW_PRINTER") else {
        eprintln!("LEGITKA_HW_PRINTER not set: no real printer, test skipped");
        return None;
    };
    let uri: PrinterUri = uri.parse().expect("LEGITKA_HW_PRINTER is a printer uri");
    let link = open_uri(&uri).expect("printer reachable");
    let caps = Capabilities {
        dpi: 300,
        width_px: 1016,
        height_px: 648,
        ribbons: vec!["YMCKO".into()],
        duplex: false,
    };
    let ribbon = std::env::var("LEGITKA_HW_RIBBON").unwrap_or_else(|_| "ymcko".into());
    Some(
        EvolisPrinter::connect(
            link,
            EvolisSettings {
                ribbon,
                ..EvolisSettings::default()
            },
            caps,
        )
        .expect("printer answers its identity queries"),
    )
}
