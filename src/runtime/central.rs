//! A stand-in for the central system: publishes orders and reads back what
//! the station reports. The demo and the tests talk to the station through
//! it, over a real broker.

use crate::runtime::topics::Topics;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct Central {
    client: AsyncClient,
    pub topics: Topics,
    events: mpsc::UnboundedReceiver<Value>,
    states: mpsc::UnboundedReceiver<Value>,
    /// Every event received, in order.
    pub seen: Vec<Value>,
}

impl Central {
    pub async fn connect(host: &str, port: u16, prefix: &str, school: &str, station: &str) -> Self {
        let id = format!("central-{}", uuid::Uuid::new_v4().simple());
        let mut o = MqttOptions::new(id, host, port);
        o.set_max_packet_size(
            crate::runtime::mqtt::MAX_PACKET,
            crate::runtime::mqtt::MAX_PACKET,
        )
        .set_keep_alive(Duration::from_secs(30));
        let (client, mut el) = AsyncClient::new(o, 64);
        let topics = Topics::new(prefix, school, station, false);
        let (etx, events) = mpsc::unbounded_channel();
        let (stx, states) = mpsc::unbounded_channel();
        let (ready_tx, mut ready) = mpsc::unbounded_channel();
        let (ev_topic, st_topic) = (topics.events.clone(), topics.state.clone());
        client
            .subscribe(&ev_topic, QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        client
            .subscribe(&st_topic, QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let Ok(v) = serde_json::from_slice::<Value>(&p.payload) else {
                            continue;
                        };
                        let tx = if p.topic == ev_topic { &etx } else { &stx };
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        for _ in 0..2 {
            tokio::time::timeout(Duration::from_secs(30), ready.recv())
                .await
                .expect("broker answers subscriptions");
        }
        Central {
            client,
            topics,
            events,
            states,
            seen: Vec::new(),
        }
    }

    pub async fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish");
    }

    pub async fn send_order(&self, order: &Value) {
        self.publish(&self.topics.orders, order.to_string().into_bytes())
            .await;
    }

    /// Waits until `done` holds over all events seen so far.
    pub async fn wait_events(
        &mut self,
        timeout: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.seen) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(v)) => self.seen.push(v),
                _ => return false,
            }
        }
        true
    }

    /// Waits until `n` events of `kind` have been seen in all; counts as
    /// they come, so a burst of thousands costs nothing to watch.
    pub async fn wait_count(&mut self, kind: &str, n: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = count(&self.seen, kind);
        while seen < n {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(v)) => {
                    seen += usize::from(v["type"] == kind);
                    self.seen.push(v);
                }
                _ => break,
            }
        }
        seen
    }

    pub async fn send_cancel(&self, order_id: &str) {
        let msg = serde_json::json!({
            "type": "card.cancel", "order_id": order_id, "created_at": crate::records::event::now(),
        });
        self.publish(&self.topics.cancels, msg.to_string().into_bytes())
            .await;
    }

    /// The school approved deleting a student's photo.
    pub async fn send_revoke(&self, student_id: &str) {
        let msg = serde_json::json!({
            "type": "photo.revoke", "student_id": student_id, "created_at": crate::records::event::now(),
        });
        self.publish(&self.topics.revocations, msg.to_string().into_bytes())
            .await;
    }

    /// A revocation dated `created_at` (RFC 3339), as a clock that is
    /// wrong, or a central system that is, would date it.
    pub async fn send_revoke_dated(&self, student_id: &str, created_at: &str) {
        let msg = serde_json::json!({
            "type": "photo.revoke", "student_id": student_id, "created_at": created_at,
        });
        self.publish(&self.topics.revocations, msg.to_string().into_bytes())
            .await;
    }

    /// Events of one type for one order.
    pub fn events_for<'a>(
        &'a self,
        order_id: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.seen
            .iter()
            .filter(move |e| e["order_id"] == order_id && e["type"] == kind)
    }

    /// The newest retained or live state, waiting up to `timeout` for one
    /// that satisfies `pred`.
    pub async fn wait_state(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.states.recv()).await {
                Ok(Some(v)) if pred(&v) => return Some(v),
                Ok(Some(_)) => {}
                _ => return None,
            }
        }
    }
}

/// Counts events by type.
pub fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}
