//! From the broker to the store: every message is parsed, validated,
//! committed with the events that answer it, and only then acknowledged.

use crate::event::Event;
use crate::message::{self, Inbound, TrustedKeys};
use crate::order::{self, ValidOrder};
use crate::reject::{Code, Rejection};
use crate::render::Renderer;
use crate::store::{CancelOutcome, Offer, Store, StoreError};
use rumqttc::{AsyncClient, Publish};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tracing::{error, info, warn};

pub struct Ingest {
    pub store: Store,
    pub renderer: Arc<Renderer>,
    pub keys: TrustedKeys,
    pub school: String,
    pub client: AsyncClient,
    /// Woken when events are waiting to be published.
    pub outbox_ready: Arc<Notify>,
    /// Woken when a card joins the queue.
    pub queue_ready: Arc<Notify>,
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

impl Ingest {
    pub async fn run(self, mut rx: mpsc::Receiver<Publish>) {
        while let Some(p) = rx.recv().await {
            // A database that refuses a write (disk full, locked) must not
            // lose the order: keep it unacknowledged and try again.
            let mut delay = Duration::from_millis(100);
            loop {
                match self.handle(&p.payload).await {
                    Ok(outcome) => {
                        info!(topic = %p.topic, ?outcome, "message handled");
                        break;
                    }
                    Err(e) => {
                        error!(error = %e, retry_in = ?delay, "cannot store a message; it stays unacknowledged");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
            self.outbox_ready.notify_one();
            if let Err(e) = self.client.ack(&p).await {
                warn!(error = %e, "cannot acknowledge; the broker will deliver it again");
            }
        }
    }

    async fn reject(&self, order_id: Option<&str>, r: &Rejection) -> Result<Outcome, StoreError> {
        warn!(order_id = order_id.unwrap_or("-"), code = %r.code, field = r.field.as_deref().unwrap_or("-"), message = %r.message, "order rejected");
        self.store
            .record_events(&[Event::rejected(order_id, r)])
            .await?;
        Ok(Outcome::Rejected(r.code))
    }

    /// Handles one message body; `Err` only when the store failed.
    pub async fn handle(&self, payload: &[u8]) -> Result<Outcome, StoreError> {
        let inbound = match message::parse(payload, &self.keys) {
            Ok(m) => m,
            Err((id, r)) => return self.reject(id.as_deref(), &r).await,
        };
        match inbound {
            Inbound::Order(msg) => {
                let order_id = msg.order_id.clone();
                let renderer = self.renderer.clone();
                let school = self.school.clone();
                // Decoding a photo and laying out text is CPU work.
                let checked = tokio::task::spawn_blocking(move || check(&msg, &renderer, &school))
                    .await
                    .unwrap_or_else(|e| {
                        Err(Rejection::new(
                            Code::Schema,
                            None,
                            &format!("validation crashed: {e}"),
                        ))
                    });
                let order = match checked {
                    Ok(o) => o,
                    Err(r) => return self.reject(Some(&order_id), &r).await,
                };
                match self.store.offer(&order).await? {
                    Offer::Accepted => {
                        info!(order_id = %order.data.order_id, card = %order.data.card_number, "order queued");
                        self.queue_ready.notify_one();
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
                        self.reject(Some(&order_id), &r).await
                    }
                    Offer::NumberTaken(other) => {
                        let r = Rejection::new(
                            Code::Conflict,
                            Some("card.number"),
                            &format!(
                                "card number {} is already used by order {other}",
                                order.data.card_number
                            ),
                        );
                        self.reject(Some(&order_id), &r).await
                    }
                }
            }
            Inbound::Cancel(c) => {
                if uuid::Uuid::parse_str(&c.order_id).is_err() {
                    let r =
                        Rejection::new(Code::Schema, Some("order_id"), "order_id must be a UUID");
                    return self.reject(None, &r).await;
                }
                let outcome = self.store.cancel(&c.order_id).await?;
                info!(order_id = %c.order_id, ?outcome, "cancel handled");
                Ok(Outcome::Cancelled(outcome))
            }
            Inbound::Revoke(r) => {
                let Ok(at) = chrono::DateTime::parse_from_rfc3339(&r.created_at) else {
                    let r = Rejection::new(
                        Code::Schema,
                        Some("created_at"),
                        "created_at must be an RFC 3339 time",
                    );
                    return self.reject(None, &r).await;
                };
                let held = self
                    .store
                    .revoke_photo(&r.student_id, at.with_timezone(&chrono::Utc))
                    .await?;
                info!(student_id = %r.student_id, held = held.len(), "photo revoked and deleted");
                Ok(Outcome::Revoked(held.len()))
            }
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
