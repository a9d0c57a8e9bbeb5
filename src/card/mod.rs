//! The card: the central system's messages as they arrive (`message`), the
//! checks that turn one into a `ValidOrder` (`order`, `pesel`, `photo`,
//! `repertoire`, and `reject` for the refusals), and how a card is laid out
//! and drawn for a printer (`profile`, `template`, `render`). `sample` holds
//! the demo's and tests' orders; `school` checks the school's own lines
//! against every layout before the first order.

pub mod geometry;
pub mod message;
pub mod order;
pub mod pesel;
pub mod photo;
pub mod profile;
pub mod reject;
pub mod render;
pub mod repertoire;
pub mod sample;
pub mod school;
pub mod template;
