//! Card printer drivers for legitka: what a printer can do, how to talk to it,
//! and how its answers map onto the few states the station cares about.
//!
//! A driver is a small table of commands and status codes ([`evolis`]) behind
//! one interface ([`Printer`]), sent over one of the [`transport`]s.

pub mod evolis;
pub mod ipp;
pub mod panels;
pub mod printer;
pub mod serial;
pub mod status;
pub mod transport;

pub use panels::{Mono, PanelKind, PanelSet};
pub use printer::{Capabilities, Identity, PrintError, PrintReport, Printer};
pub use status::{Cause, PrinterState, Status};
pub use transport::{open_uri, PrinterUri, Transport, TransportError};
