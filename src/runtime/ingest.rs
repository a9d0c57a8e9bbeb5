//! From the broker to the store: every message is parsed and validated on
//! the blocking pool, committed with the events that answer it, and only then
//! acknowledged.
//!
//! Messages keep their arrival order end to end. Up to `PARALLEL` are checked
//! at once; those ready when the store is free commit together in one
//! transaction (a group commit), and their acknowledgements follow that
//! commit, in order.

use crate::card::message::{self, Inbound, TrustedKeys};
use crate::card::order::{self, ValidOrder};
use crate::card::reject::{Code, Rejection};
use crate::card::render::Renderer;
use crate::records::event::Event;
use crate::records::store::{CancelOutcome, Offer, Store, StoreError, WriteTx};
use crate::runtime::mqtt::{Acker, Delivery};
use crate::runtime::topics::Topics;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Messages checked at once: a few per core, so that the cores never wait
/// for the next message while a group commits.
fn parallel() -> usize {
    4 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Most messages in one transaction: enough to amortise the commit's fsync,
/// few enough that acknowledgements follow quickly.
const MAX_GROUP: usize = 64;

/// Which topic a message came from: an order is taken only from `orders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Orders,
    Cancels,
    Revocations,
}

impl Source {
    pub fn of(topic: &str, topics: &Topics) -> Source {
        if topic == topics.cancels {
            Source::Cancels
        } else if topic == topics.revocations {
            Source::Revocations
        } else {
            Source::Orders
        }
    }
}

/// A message once checked, ready for the store: nothing here is raw input.
#[derive(Debug)]
pub enum Checked {
    Order(Box<ValidOrder>),
    Cancel {
        order_id: String,
    },
    Revoke {
        student_id: String,
        at: DateTime<Utc>,
    },
    Rejected(Option<String>, Rejection),
}

/// The outcome of one message, for logs and tests.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Accepted,
    Redelivered,
    Rejected(Code),
    Cancelled(CancelOutcome),
    Revoked(usize),
}

/// How far ahead of this station's clock a revocation may be dated.
pub const FUTURE_SLACK_MINUTES: i64 = 5;

/// What checking a message needs, shared by the checking threads.
pub struct Checker {
    pub renderer: Arc<Renderer>,
    pub keys: TrustedKeys,
    pub school: String,
}

impl Checker {
    /// Parses and validates one message: CPU work, run on the blocking pool.
    pub fn check(&self, payload: &[u8], source: Source) -> Checked {
        let inbound = match message::parse(payload, &self.keys) {
            Ok(m) => m,
            Err((id, r)) => return Checked::Rejected(id, r),
        };
        match inbound {
            Inbound::Order(msg) if source != Source::Orders => Checked::Rejected(
                message::order_id_hint_str(&msg.order_id),
                // Every station sees cancels and revocations: an order there
                // would print once per station.
                Rejection::new(
                    Code::Schema,
                    Some("type"),
                    "card.order is taken only from the orders topic",
                ),
            ),
            Inbound::Order(msg) => match check(&msg, &self.renderer, &self.school) {
                Ok(o) => Checked::Order(Box::new(o)),
                Err(r) => Checked::Rejected(message::order_id_hint_str(&msg.order_id), r),
            },
            Inbound::Cancel(c) => {
                if uuid::Uuid::parse_str(&c.order_id).is_err() {
                    return Checked::Rejected(
                        None,
                        Rejection::new(Code::Schema, Some("order_id"), "order_id must be a UUID"),
                    );
                }
                Checked::Cancel {
                    order_id: c.order_id,
                }
            }
            Inbound::Revoke(r) => {
                let Ok(at) = DateTime::parse_from_rfc3339(&r.created_at) else {
                    return Checked::Rejected(
                        None,
                        Rejection::new(
                            Code::Schema,
                            Some("created_at"),
                            "created_at must be an RFC 3339 time",
                        ),
                    );
                };
                // A revocation covers photos accepted up to its date: one
                // dated ahead would hold every order of the pupil until then.
                // A few minutes cover clocks that disagree.
                if at.with_timezone(&Utc)
                    > Utc::now() + chrono::Duration::minutes(FUTURE_SLACK_MINUTES)
                {
                    return Checked::Rejected(
                        None,
                        Rejection::new(
                            Code::Schema,
                            Some("created_at"),
                            &format!("created_at is more than {FUTURE_SLACK_MINUTES} minutes ahead of the station's clock: a revocation cannot be dated in the future"),
                        ),
                    );
                }
                if let Err(r) = message::student_id("student_id", &r.student_id) {
                    return Checked::Rejected(None, r);
                }
                Checked::Revoke {
                    student_id: r.student_id,
                    at: at.with_timezone(&Utc),
                }
            }
        }
    }
}

pub struct Ingest {
    pub store: Store,
    pub checker: Arc<Checker>,
    pub topics: Topics,
    pub acker: Acker,
    /// Woken when events are waiting to be published.
    pub outbox_ready: Arc<Notify>,
    /// Woken when a card joins the queue.
    pub queue_ready: Arc<Notify>,
}

/// A message being checked, with what is needed to acknowledge it.
struct InFlight {
    delivery: Delivery,
    checked: JoinHandle<Checked>,
}

/// A message checked and waiting for its group's commit.
struct Ready {
    delivery: Delivery,
    checked: Checked,
}

impl Ingest {
    pub async fn run(self, mut rx: mpsc::UnboundedReceiver<Delivery>) {
        let width = parallel();
        let mut checking: VecDeque<InFlight> = VecDeque::new();
        let mut open = true;
        loop {
            while open && checking.len() < width {
                match rx.try_recv() {
                    Ok(d) => checking.push_back(self.start(d)),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            let Some(head) = checking.pop_front() else {
                if !open {
                    return;
                }
                match rx.recv().await {
                    Some(d) => checking.push_back(self.start(d)),
                    None => return,
                }
                continue;
            };
            let mut group = vec![self.finish(head).await];
            // Whatever else is already checked joins this commit.
            while group.len() < MAX_GROUP
                && checking.front().is_some_and(|f| f.checked.is_finished())
            {
                let next = checking.pop_front().expect("front exists");
                group.push(self.finish(next).await);
                if let Ok(d) = rx.try_recv() {
                    checking.push_back(self.start(d));
                }
            }
            self.commit(group).await;
        }
    }

    fn start(&self, delivery: Delivery) -> InFlight {
        let source = Source::of(&delivery.topic, &self.topics);
        let checker = self.checker.clone();
        let payload = delivery.payload.clone();
        InFlight {
            delivery,
            checked: tokio::task::spawn_blocking(move || checker.check(&payload, source)),
        }
    }

    async fn finish(&self, f: InFlight) -> Ready {
        let checked = f.checked.await.unwrap_or_else(|e| {
            error!(error = %e, "checking a message crashed");
            Checked::Rejected(
                None,
                Rejection::new(
                    Code::Schema,
                    None,
                    "the station could not read this message",
                ),
            )
        });
        Ready {
            delivery: f.delivery,
            checked,
        }
    }

    /// Commits a group, then acknowledges it. A database that refuses a write
    /// (disk full, locked) must not lose anything: the group stays
    /// unacknowledged and is tried again.
    async fn commit(&self, group: Vec<Ready>) {
        let items: Vec<&Checked> = group.iter().map(|r| &r.checked).collect();
        let mut delay = Duration::from_millis(100);
        let outcomes = loop {
            match apply_group(&self.store, &items).await {
                Ok(o) => break o,
                Err(e) if items.len() > 1 && !is_transient(&e) => {
                    // One message the database will never take must not hold
                    // the others back: commit them one by one.
                    warn!(error = %e, "a group did not commit; committing its messages one by one");
                    let mut each = Vec::new();
                    for item in &items {
                        each.push(self.commit_alone(item).await);
                    }
                    break each;
                }
                Err(e) if items.len() == 1 && !is_transient(&e) => {
                    break vec![self.commit_alone(items[0]).await];
                }
                Err(e) => {
                    error!(error = %e, retry_in = ?delay, "cannot store messages; they stay unacknowledged");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        };
        let mut queued = false;
        for (r, outcome) in group.iter().zip(&outcomes) {
            info!(topic = %r.delivery.topic, ?outcome, "message handled");
            queued |= *outcome == Outcome::Accepted;
        }
        self.outbox_ready.notify_one();
        if queued {
            self.queue_ready.notify_one();
        }
        for r in group {
            self.acker.ack(r.delivery.ack);
            // The permit goes back with the delivery: memory is free again.
        }
    }

    /// One message on its own; a permanent failure is answered, not retried.
    async fn commit_alone(&self, item: &Checked) -> Outcome {
        let mut delay = Duration::from_millis(100);
        loop {
            match apply_group(&self.store, &[item]).await {
                Ok(mut o) => return o.remove(0),
                Err(e) if is_transient(&e) => {
                    error!(error = %e, retry_in = ?delay, "cannot store a message; it stays unacknowledged");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    error!(error = %e, "the database refused a message; it is rejected");
                    let id = match item {
                        Checked::Order(o) => Some(o.data.order_id.clone()),
                        Checked::Cancel { order_id } => Some(order_id.clone()),
                        _ => None,
                    };
                    let r = Rejection::new(
                        Code::StationError,
                        None,
                        "the station could not store this message",
                    );
                    // The answer is recorded before the message is acked.
                    let answer = [Event::rejected(id.as_deref(), &r)];
                    while let Err(e) = self.store.record_events(&answer).await {
                        error!(error = %e, retry_in = ?delay, "cannot record the rejection; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                    return Outcome::Rejected(r.code);
                }
            }
        }
    }
}

/// Errors that pass (a busy, locked or full database) are retried; the rest
/// come from the message itself.
fn is_transient(e: &StoreError) -> bool {
    match e {
        StoreError::Db(sqlx::Error::Database(d)) => {
            matches!(d.kind(), sqlx::error::ErrorKind::Other)
        }
        StoreError::Db(_) | StoreError::Migrate(_) => true,
        _ => false,
    }
}

/// Applies checked messages in one transaction, in order.
pub async fn apply_group(store: &Store, items: &[&Checked]) -> Result<Vec<Outcome>, StoreError> {
    let mut tx = store.begin().await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(apply(store, &mut tx, item).await?);
    }
    tx.commit().await?;
    Ok(out)
}

async fn reject(
    store: &Store,
    tx: &mut WriteTx,
    order_id: Option<&str>,
    r: &Rejection,
) -> Result<Outcome, StoreError> {
    warn!(order_id = order_id.unwrap_or("-"), code = %r.code, field = r.field.as_deref().unwrap_or("-"), message = %r.message, "order rejected");
    store.emit(tx, &[Event::rejected(order_id, r)]).await?;
    Ok(Outcome::Rejected(r.code))
}

async fn apply(store: &Store, tx: &mut WriteTx, item: &Checked) -> Result<Outcome, StoreError> {
    match item {
        Checked::Rejected(id, r) => reject(store, tx, id.as_deref(), r).await,
        Checked::Order(order) => {
            let order_id = &order.data.order_id;
            match store.offer_in(tx, order).await? {
                Offer::Accepted => {
                    info!(order_id = %order_id, card = %order.data.card_number, "order queued");
                    Ok(Outcome::Accepted)
                }
                Offer::Redelivery => Ok(Outcome::Redelivered),
                Offer::CancelledEarly => Ok(Outcome::Cancelled(CancelOutcome::Cancelled)),
                Offer::Conflict => {
                    let r = Rejection::new(
                        Code::Conflict,
                        Some("order_id"),
                        "an order with this id and different content was received before; the first one stands",
                    );
                    reject(store, tx, Some(order_id), &r).await
                }
                Offer::NumberRefused(why) => {
                    let r = Rejection::new(Code::Conflict, Some("card.number"), &why);
                    reject(store, tx, Some(order_id), &r).await
                }
            }
        }
        Checked::Cancel { order_id } => {
            let outcome = store.cancel_in(tx, order_id).await?;
            info!(order_id = %order_id, ?outcome, "cancel handled");
            Ok(Outcome::Cancelled(outcome))
        }
        Checked::Revoke { student_id, at } => {
            let held = store.revoke_in(tx, student_id, *at).await?;
            info!(student_id = %student_id, held = held.len(), "photo revoked and deleted");
            Ok(Outcome::Revoked(held.len()))
        }
    }
}

/// Everything that can be known about an order before it is queued,
/// including whether its text fits the card.
pub fn check(
    msg: &message::OrderMsg,
    renderer: &Renderer,
    school: &str,
) -> Result<ValidOrder, Rejection> {
    let ctx = order::Context {
        school_rspo: school,
        patterns: &|p| renderer.has_pattern(p),
    };
    let order = order::validate(msg, &ctx)?;
    renderer.layout(&order.data)?;
    Ok(order)
}
