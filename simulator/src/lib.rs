//! A software card printer that speaks the Evolis escape-command protocol
//! byte for byte, over a pseudo-terminal or TCP, and keeps what it printed.
//!
//! It decodes every panel back into pixels, so a test that compares the
//! simulator's card with the source photo checks the whole path: rendering,
//! separation, packing, the line and the decoding.

pub mod link;
pub mod printer;

pub use link::{serve, spawn_pty, Link, PtyLink, TcpListenerLink};
pub use printer::{Faults, OddReply, PrintedCard, SimConfig, SimHandle, SimPrinter, LINE_NOISE};
