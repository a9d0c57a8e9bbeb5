//! The printer states the station reports, and their causes. Names follow the
//! central system's contract (`state.printer.state` and `detail`).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Ready,
    Printing,
    Warning,
    Error,
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    RibbonLow,
    RibbonEnded,
    NoRibbon,
    FeederEmpty,
    CoverOpen,
    CardJam,
    HopperFull,
    CleaningRequired,
    UnsupportedRibbon,
    Disconnected,
}

impl Cause {
    /// Causes the printer cannot print through; the others are advice.
    pub fn blocks_printing(self) -> bool {
        !matches!(self, Cause::RibbonLow | Cause::CleaningRequired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::RibbonLow => "ribbon_low",
            Cause::RibbonEnded => "ribbon_ended",
            Cause::NoRibbon => "no_ribbon",
            Cause::FeederEmpty => "feeder_empty",
            Cause::CoverOpen => "cover_open",
            Cause::CardJam => "card_jam",
            Cause::HopperFull => "hopper_full",
            Cause::CleaningRequired => "cleaning_required",
            Cause::UnsupportedRibbon => "unsupported_ribbon",
            Cause::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reading of the printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: PrinterState,
    pub detail: Option<Cause>,
    /// Panels (cards) left on the ribbon, when the printer says.
    pub ribbon_remaining: Option<u32>,
    pub feeder_empty: bool,
}

impl Status {
    /// Whether a new card may be started.
    pub fn can_print(&self) -> bool {
        match self.state {
            PrinterState::Ready => true,
            PrinterState::Warning => !self.detail.is_some_and(Cause::blocks_printing),
            _ => false,
        }
    }
}
