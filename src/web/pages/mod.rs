//! One file per page of the station.

pub mod audit;
pub mod blanks;
pub mod dashboard;
pub mod holds;
pub mod holograms;
pub mod printer;
pub mod queue;
pub mod register;
pub mod reports;
pub mod users;
