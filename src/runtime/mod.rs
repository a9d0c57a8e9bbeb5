//! The station's runtime: the broker link (`mqtt`, `topics`, `broker`),
//! taking messages in (`ingest`), the print queue (`queue`), the retained
//! state and the service manager (`state`, `notify`), and the wiring that
//! starts and stops them (`station`, `shutdown`). `central` stands in for
//! the school's central system in the demo and the tests.

pub mod broker;
pub mod central;
pub mod ingest;
pub mod lock;
pub mod mqtt;
pub mod notify;
pub mod queue;
pub mod shutdown;
pub mod state;
pub mod station;
pub mod topics;
