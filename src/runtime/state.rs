//! The retained `state` message: the station, its printer and its queue.

use crate::records::store::Counts;
use legitka_drivers::{PrinterState, Status};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct PrinterView {
    pub model: String,
    pub serial: String,
    pub ribbon: String,
    pub status: Status,
}

#[derive(Debug, Clone)]
pub struct StateReport {
    pub station: String,
    pub printer: Option<PrinterView>,
    pub printing_now: bool,
    pub queue: Counts,
}

impl StateReport {
    pub fn to_json(&self) -> Vec<u8> {
        let printer = match &self.printer {
            Some(p) => {
                let state = if self.printing_now && p.status.state == PrinterState::Ready {
                    PrinterState::Printing
                } else {
                    p.status.state
                };
                json!({
                    "model": p.model,
                    "serial": p.serial,
                    "state": state,
                    "detail": p.status.detail.map(|c| c.as_str()),
                    "ribbon": { "type": p.ribbon, "remaining": p.status.ribbon_remaining },
                    "feeder": if p.status.feeder_empty { "empty" } else { "ok" },
                })
            }
            None => json!({
                "model": null, "serial": null, "state": "offline", "detail": "disconnected",
                "ribbon": null, "feeder": null,
            }),
        };
        json!({
            "online": true,
            "station": self.station,
            "version": env!("CARGO_PKG_VERSION"),
            "printer": printer,
            "queue": { "pending": self.queue.pending, "printing": self.queue.printing, "held": self.queue.held },
            "blanks": { "loaded": self.queue.blanks_loaded, "in_stock": self.queue.blanks_in_stock },
            "backup": self.queue.backup.as_ref().map(|b| json!({ "at": b.at, "ok": b.ok, "message": b.message })),
            "at": crate::records::event::now(),
        })
        .to_string()
        .into_bytes()
    }
}
