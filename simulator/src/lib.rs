//! A software card printer that speaks the Evolis escape-command protocol
//! byte for byte, over a pseudo-terminal or TCP, and keeps what it printed.
//!
//! It decodes every panel back into pixels, so a test that compares the
//! simulator's card with the source photo checks the whole path: rendering,
//! separation, packing, the line and the decoding. Its feeder holds plain
//! cards and numbered blanks, and it writes down which blank every card
//! went on (`feeder.jsonl`), so the station's register can be checked
//! against what physically happened.

pub mod control;
pub mod feeder;
pub mod link;
pub mod printer;

pub use feeder::{Blank, Feeder, Outcome, Stack, Taken};
pub use link::{serve, spawn_pty, Link, PtyLink, TcpListenerLink};
pub use printer::{
    Faults, OddReply, PrintedCard, SimConfig, SimHandle, SimPrinter, KEEP_PRINTED, LINE_NOISE,
};
