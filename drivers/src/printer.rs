//! The one interface every printer family implements.

use crate::panels::PanelSet;
use crate::status::{Cause, Status};
use crate::transport::TransportError;
use thiserror::Error;

/// What the printer is, read from it at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub model: String,
    pub serial: String,
    pub firmware: String,
}

/// What a printer can do, from its profile.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub dpi: u32,
    pub width_px: u32,
    pub height_px: u32,
    pub ribbons: Vec<String>,
    pub duplex: bool,
}

/// A card that left the printer.
#[derive(Debug, Clone)]
pub struct PrintReport {
    pub bytes_sent: usize,
    /// The printer's own count of printed panels after this card (`Rco;p`).
    pub counter: u64,
    /// Panels this card printed: the counter moved by this much.
    pub panels: u64,
}

#[derive(Debug, Error)]
pub enum PrintError {
    /// Nothing reached the printer: the card was never started and may be
    /// retried once the printer is back.
    #[error("printer not reachable before the card started: {0}")]
    NotStarted(#[source] TransportError),
    /// The printer refused to start (a fault it already had).
    #[error("printer not ready: {0}")]
    NotReady(Cause),
    /// The printer reported a fault during the card and did not count it: the
    /// blank is spoiled and the card was not issued.
    #[error("blank spoiled ({cause}): {message}")]
    Spoiled { cause: Cause, message: String },
    /// The card may be in the printer, partly printed: an operator must check.
    #[error("printing failed mid-card ({cause}): {message}")]
    MidCard { cause: Cause, message: String },
    /// The connection broke after the card started.
    #[error("connection lost mid-card: {0}")]
    LostMidCard(#[source] TransportError),
    #[error("printer protocol error: {0}")]
    Protocol(String),
}

pub trait Printer: Send {
    fn capabilities(&self) -> &Capabilities;
    fn identity(&self) -> &Identity;
    fn status(&mut self) -> Result<Status, TransportError>;
    /// Prints one card and returns when the printer has ejected it.
    fn print(&mut self, card: &PanelSet) -> Result<PrintReport, PrintError>;
}
