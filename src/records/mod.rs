//! The records: the database (`store`, one file per aggregate), the events
//! reported back (`event`), the strictly accounted forms (`serial`,
//! `hologram`; blanks live in the store), and the reports a school keeps
//! on paper (`report`).

pub mod account;
pub mod actor;
pub mod backup;
pub mod clock;
pub mod event;
pub mod hologram;
pub mod report;
pub mod serial;
pub mod spreadsheet;
pub mod store;
