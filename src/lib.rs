//! legitka: a print station for Polish school ID cards.
//!
//! Data flows one way: [`runtime::ingest`] -> [`records::store`] ->
//! [`runtime::queue`] -> [`card::render`] -> driver -> printer, and records
//! and events flow back through the store's outbox to [`runtime::mqtt`].
//! The modules are grouped by domain: the station's [`runtime`], the
//! [`card`], and the [`records`]; `settings` is read by all three.

pub mod card;
pub mod records;
pub mod runtime;
pub mod settings;
pub mod web;
