//! Serial numbers of strictly accounted forms (blanks, hologram stickers).
//! The counting lives with the drivers, so the printer simulator's feeder of
//! numbered blanks counts them exactly as the register does.

pub use legitka_drivers::serial::{check, range, SerialError};
