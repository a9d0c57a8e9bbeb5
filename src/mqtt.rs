//! The station's MQTT connection: options as the contract wants them, the
//! event loop, and the publisher that drains the outbox and keeps the
//! retained `state` current.

use crate::settings::MqttSettings;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::topics::Topics;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, Publish, QoS, Transport,
};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, watch, Notify};
use tracing::{debug, info, warn};

#[derive(Debug, Error)]
pub enum MqttError {
    #[error("mqtt url {0:?}: expected mqtt://host:port or mqtts://host:port")]
    Url(String),
    #[error("reading {0}: {1}")]
    File(String, std::io::Error),
}

/// Largest message accepted. A contract-sized order (5 MB of JPEG in base64)
/// is under 7 MB; anything up to this limit is read and rejected properly
/// (`photo_too_large`). A bigger one is refused by the client library as a
/// protocol error, which drops the connection: see DESIGN.md.
pub const MAX_PACKET: usize = 64 << 20;

pub fn options(
    cfg: &MqttSettings,
    client_id: &str,
    will: Option<(String, Vec<u8>)>,
) -> Result<MqttOptions, MqttError> {
    let url = url::Url::parse(&cfg.url).map_err(|_| MqttError::Url(cfg.url.clone()))?;
    let host = url
        .host_str()
        .ok_or_else(|| MqttError::Url(cfg.url.clone()))?;
    let tls = match url.scheme() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        _ => return Err(MqttError::Url(cfg.url.clone())),
    };
    let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_keep_alive(Duration::from_secs(30))
        // Orders sent while the station was away wait for it at the broker.
        .set_clean_session(false)
        // PUBACK only after the order is committed.
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_inflight(16);
    if let Some((topic, payload)) = will {
        o.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, true));
    }
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        o.set_credentials(u, p);
    }
    if tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read = |p: &std::path::PathBuf| {
            std::fs::read(p).map_err(|e| MqttError::File(p.display().to_string(), e))
        };
        let ca = match &cfg.ca_file {
            Some(p) => read(p)?,
            None => return Err(MqttError::Url(format!("{} needs mqtt.ca_file", cfg.url))),
        };
        let client_auth = match (&cfg.client_cert, &cfg.client_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            _ => None,
        };
        o.set_transport(Transport::tls(ca, client_auth, None));
    }
    Ok(o)
}

/// What the event loop tells the publisher about its own messages.
#[derive(Debug, Clone, Copy)]
pub enum Feedback {
    Sent(u16),
    Acked(u16),
}

/// Drives the connection: forwards incoming publishes, resubscribes on every
/// connect (harmless with a persistent session, needed without one) and
/// reports publish acknowledgements.
pub async fn pump(
    mut eventloop: EventLoop,
    client: AsyncClient,
    subscriptions: Vec<String>,
    inbound: mpsc::Sender<Publish>,
    feedback: mpsc::UnboundedSender<Feedback>,
    connected: watch::Sender<bool>,
) {
    let mut failures = 0u32;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                failures = 0;
                info!(
                    session_present = ack.session_present,
                    "connected to the broker"
                );
                for s in &subscriptions {
                    if let Err(e) = client.try_subscribe(s, QoS::AtLeastOnce) {
                        warn!(error = %e, topic = %s, "cannot subscribe");
                    }
                }
                let _ = connected.send(true);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if inbound.send(p).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::PubAck(a))) => {
                let _ = feedback.send(Feedback::Acked(a.pkid));
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let _ = feedback.send(Feedback::Sent(pkid));
            }
            // The publisher says goodbye last; nothing follows.
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(other) => debug!(event = ?other, "mqtt"),
            Err(e) => {
                let _ = connected.send(false);
                failures += 1;
                let wait = Duration::from_millis(200 * u64::from(failures.min(25)));
                warn!(error = %e, retry_in = ?wait, "broker connection lost");
                if feedback.is_closed() {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Publishes one message at QoS 1 and waits for the broker's PUBACK.
///
/// One message is in flight at a time, matched by packet id. A message whose
/// ack did not come in time stays outstanding: nothing new is sent until it is
/// acknowledged (rumqttc retransmits it after a reconnect), and asking again
/// for the same key answers from that ack instead of publishing twice.
pub struct Publisher {
    client: AsyncClient,
    feedback: mpsc::UnboundedReceiver<Feedback>,
    /// Key and packet id (once sent) of the unacknowledged message.
    outstanding: Option<(String, Option<u16>)>,
}

impl Publisher {
    pub fn new(client: AsyncClient, feedback: mpsc::UnboundedReceiver<Feedback>) -> Self {
        Publisher {
            client,
            feedback,
            outstanding: None,
        }
    }

    /// Waits for the outstanding message's ack; true once it came.
    async fn settle(&mut self) -> bool {
        let Some((_, pkid)) = self.outstanding.as_mut() else {
            return true;
        };
        let wait = async {
            while let Some(f) = self.feedback.recv().await {
                match (f, *pkid) {
                    (Feedback::Sent(p), None) => *pkid = Some(p),
                    (Feedback::Acked(p), Some(s)) if p == s => return true,
                    _ => {}
                }
            }
            false
        };
        let acked = tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or(false);
        if acked {
            self.outstanding = None;
        }
        acked
    }

    /// Publishes `payload` as the message `key` (an outbox row, a state) and
    /// says whether the broker has acknowledged it.
    pub async fn publish(
        &mut self,
        key: &str,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
    ) -> bool {
        if let Some((pending, _)) = &self.outstanding {
            let same = pending == key;
            if !self.settle().await {
                return false;
            }
            if same {
                return true;
            }
        }
        if self
            .client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .is_err()
        {
            return false;
        }
        self.outstanding = Some((key.to_string(), None));
        self.settle().await
    }
}

fn state_key(payload: &[u8]) -> String {
    use sha2::Digest;
    format!("state:{}", hex::encode(sha2::Sha256::digest(payload)))
}

/// Publishes up to `limit` unsent events, oldest first, stopping at the first
/// the broker has not acknowledged.
async fn drain_outbox(publisher: &mut Publisher, store: &Store, topics: &Topics, limit: i64) {
    let batch = match store.unsent(limit).await {
        Ok(b) => b,
        Err(e) => {
            warn!(error = %e, "cannot read the outbox");
            return;
        }
    };
    for (id, payload) in batch {
        let key = format!("event:{id}");
        if !publisher
            .publish(&key, &topics.events, payload.into_bytes(), false)
            .await
        {
            return;
        }
        if let Err(e) = store.mark_sent(id).await {
            warn!(error = %e, "cannot mark event sent");
        }
    }
}

/// Drains the outbox and keeps the retained state current until `stop`; then
/// drains once more, publishes the final (offline) state and disconnects, so
/// the broker does not send the will for a station that left in order.
pub async fn publish_loop(
    mut publisher: Publisher,
    store: Store,
    topics: Topics,
    mut state: watch::Receiver<Vec<u8>>,
    outbox_ready: std::sync::Arc<Notify>,
    mut connected: watch::Receiver<bool>,
    mut stop: Shutdown,
) {
    let mut state_dirty = true;
    loop {
        if *connected.borrow() {
            if state_dirty {
                let payload = state.borrow_and_update().clone();
                state_dirty = !publisher
                    .publish(&state_key(&payload), &topics.state, payload, true)
                    .await;
            }
            drain_outbox(&mut publisher, &store, &topics, 50).await;
        }
        if stop.is_set() {
            break;
        }
        tokio::select! {
            _ = outbox_ready.notified() => {}
            r = state.changed() => { if r.is_ok() { state_dirty = true; } }
            r = connected.changed() => { if r.is_ok() && *connected.borrow() { state_dirty = true; } }
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.wait() => {}
        }
    }
    let client = publisher.client.clone();
    let farewell = async {
        drain_outbox(&mut publisher, &store, &topics, 1000).await;
        let mut last: serde_json::Value =
            serde_json::from_slice(&state.borrow()).unwrap_or_else(|_| serde_json::json!({}));
        last["online"] = serde_json::Value::Bool(false);
        publisher
            .publish(
                &state_key(last.to_string().as_bytes()),
                &topics.state,
                last.to_string().into_bytes(),
                true,
            )
            .await;
    };
    if *connected.borrow() {
        let _ = tokio::time::timeout(Duration::from_secs(5), farewell).await;
    }
    let _ = client.disconnect().await;
}
