//! legitka: a print station for Polish school ID cards.
//!
//! Data flows one way: [`ingest`] -> [`store`] -> [`queue`] -> [`render`] ->
//! driver -> printer, and records and events flow back through the store's
//! outbox to [`mqtt`].

pub mod broker;
pub mod central;
pub mod event;
pub mod hologram;
pub mod ingest;
pub mod message;
pub mod mqtt;
pub mod notify;
pub mod order;
pub mod pesel;
pub mod photo;
pub mod profile;
pub mod queue;
pub mod reject;
pub mod render;
pub mod repertoire;
pub mod report;
pub mod sample;
pub mod serial;
pub mod settings;
pub mod shutdown;
pub mod state;
pub mod station;
pub mod store;
pub mod template;
pub mod topics;
