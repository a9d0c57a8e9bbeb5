//! The station's MQTT connection: options as the contract wants them, the
//! event loop (`pump`), and the publisher that drains the outbox and keeps
//! the retained `state` current.
//!
//! The pump is the only task that polls the connection, and it never waits
//! on the rest of the station except for memory: incoming messages go to
//! ingest through an unbounded channel whose contents are bounded by bytes
//! (a semaphore of `INBOUND_BUDGET` bytes, released when ingest has committed
//! a message), and acknowledgements come back to the pump, which sends them
//! only on the session they belong to.

use crate::records::store::Store;
use crate::runtime::shutdown::Shutdown;
use crate::runtime::topics::Topics;
use crate::settings::MqttSettings;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet,
    Publish, QoS, SubscribeFilter, SubscribeReasonCode, Transport,
};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, error, info, warn};

#[derive(Debug, Error)]
pub enum MqttError {
    #[error("mqtt.url {0:?}: expected mqtt://host:port or mqtts://host:port")]
    Url(String),
    #[error("reading {0}: {1}")]
    File(String, std::io::Error),
    #[error("mqtt.{0}")]
    Config(String),
}

/// Largest message accepted. A contract-sized order (5 MB of JPEG in base64)
/// is under 7 MB; anything up to this limit is read and rejected properly
/// (`photo_too_large`). A bigger one is refused by the client library as a
/// protocol error, which drops the connection: see DESIGN.md.
pub const MAX_PACKET: usize = 64 << 20;

/// Bytes of received, not yet committed messages the station holds at once.
/// A message larger than this is taken alone.
pub const INBOUND_BUDGET: usize = 10 << 20;

/// Bytes the pump holds beyond the budget before it stops reading. Mosquitto
/// 2.0.11 stops holding a subscriber to its in-flight window (20) once the
/// subscriber acknowledges anything, and sends a whole burst at once (see
/// DESIGN.md): past this much the pump stops polling and the socket pushes
/// back on the broker.
const WAITING_MAX: usize = 4 << 20;

/// Events the publisher has sent and not yet seen acknowledged. Below the
/// client's own in-flight limit (`CLIENT_INFLIGHT`), so the client never
/// stops taking requests and an ack for a committed order never waits
/// behind a publish.
const PUBLISH_WINDOW: usize = 48;
const CLIENT_INFLIGHT: u16 = 64;

/// Room for the client's requests (acks, publishes, subscriptions): the pump
/// never waits on this channel, and the station never has more than the
/// broker's in-flight window of acks plus one publish outstanding.
const REQUEST_CAPACITY: usize = 4096;

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
        .set_inflight(CLIENT_INFLIGHT);
    if let Some((topic, payload)) = will {
        o.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, true));
    }
    match (&cfg.username, &cfg.password) {
        (Some(u), Some(p)) => {
            // A password in clear text on the school network is a choice
            // someone must make on purpose.
            if !tls && !cfg.allow_plaintext_credentials {
                return Err(MqttError::Config(format!(
                    "username and password would cross the network in clear text over {}: use mqtts:// with mqtt.ca_file, or set mqtt.allow_plaintext_credentials = true",
                    cfg.url
                )));
            }
            o.set_credentials(u, p);
        }
        (None, None) => {}
        _ => {
            return Err(MqttError::Config(
                "username and password go together: set both or neither".into(),
            ))
        }
    }
    if tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read = |p: &std::path::PathBuf| {
            std::fs::read(p).map_err(|e| MqttError::File(p.display().to_string(), e))
        };
        let ca = match &cfg.ca_file {
            Some(p) => read(p)?,
            None => {
                return Err(MqttError::Config(format!(
                    "ca_file: {} needs the CA that signed the broker's certificate",
                    cfg.url
                )))
            }
        };
        let client_auth = match (&cfg.client_cert, &cfg.client_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            (None, None) => None,
            _ => {
                return Err(MqttError::Config(
                    "client_cert and client_key go together: set both or neither".into(),
                ))
            }
        };
        o.set_transport(Transport::tls(ca, client_auth, None));
    }
    Ok(o)
}

/// The client and its event loop, with room for every request the station
/// may queue while the pump is busy.
pub fn client(opts: MqttOptions) -> (AsyncClient, EventLoop) {
    AsyncClient::new(opts, REQUEST_CAPACITY)
}

/// What a person needs to read in the log when the broker cannot be reached.
pub fn describe(e: &ConnectionError, cfg: &MqttSettings) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        let ca = cfg
            .ca_file
            .as_ref()
            .map_or("(none)".to_string(), |p| p.display().to_string());
        return format!(
            "TLS: the broker's certificate is not accepted with mqtt.ca_file {ca}: {text}"
        );
    }
    match e {
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?}): check mqtt.username, mqtt.password and the client certificate")
        }
        _ => text,
    }
}

/// The link as the rest of the station sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub connected: bool,
    /// Counts the connections: an ack is sent only on the connection that
    /// delivered its message (after a reconnect, the broker may have given
    /// the same packet id to a new message not yet committed).
    pub session: u64,
    /// Why the station cannot do its work on this link, for the state and
    /// the log: a refused subscription, a refused certificate.
    pub error: Option<String>,
}

/// A message from the broker, on its way to ingest.
pub struct Delivery {
    pub topic: String,
    pub payload: bytes::Bytes,
    /// Where the acknowledgement goes, once the message is committed.
    pub ack: AckTicket,
    /// This message's share of `INBOUND_BUDGET`; dropping it gives it back.
    pub permit: OwnedSemaphorePermit,
}

/// Acknowledges one message, on the session that delivered it.
#[derive(Debug, Clone, Copy)]
pub struct AckTicket {
    session: u64,
    pkid: u16,
    qos: QoS,
}

/// Ingest's side of the acknowledgements.
#[derive(Clone)]
pub struct Acker(mpsc::UnboundedSender<AckTicket>);

impl Acker {
    /// Asks the pump to acknowledge a committed message. Never waits.
    pub fn ack(&self, t: AckTicket) {
        let _ = self.0.send(t);
    }
}

/// The channels between the pump and ingest.
pub fn inbound() -> (Acker, mpsc::UnboundedReceiver<AckTicket>, Arc<Semaphore>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Acker(tx), rx, Arc::new(Semaphore::new(INBOUND_BUDGET)))
}

/// What the event loop tells the publisher about its own messages.
#[derive(Debug, Clone, Copy)]
pub enum Feedback {
    Sent(u16),
    Acked(u16),
    /// The broker started a new session: what was in flight is gone.
    NewSession,
}

/// Everything the pump needs besides the event loop.
pub struct PumpParts {
    pub client: AsyncClient,
    pub settings: MqttSettings,
    pub subscriptions: Vec<String>,
    pub inbound: mpsc::UnboundedSender<Delivery>,
    pub acks: mpsc::UnboundedReceiver<AckTicket>,
    pub budget: Arc<Semaphore>,
    pub feedback: mpsc::UnboundedSender<Feedback>,
    pub link: watch::Sender<Link>,
}

/// Hands one acknowledgement to the client if it belongs to the live
/// session; false if the client has no room for it now (it is kept and
/// handed over later). An ack from an earlier session would name a packet id
/// the broker may have given to a new message not yet committed: it is
/// dropped (the broker delivers the old message again if it still has it,
/// and ingest knows it then).
fn send_ack(client: &AsyncClient, link: &Link, t: AckTicket) -> bool {
    if !link.connected || t.session != link.session || t.qos == QoS::AtMostOnce {
        debug!(
            pkid = t.pkid,
            "acknowledgement of an earlier session dropped"
        );
        return true;
    }
    let mut p = Publish::new("", t.qos, Vec::new());
    p.pkid = t.pkid;
    client.try_ack(&p).is_ok()
}

fn budget_for(p: &Publish) -> u32 {
    p.payload.len().clamp(1, INBOUND_BUDGET) as u32
}

/// Drives the connection: forwards incoming publishes, sends the acks ingest
/// asks for, resubscribes on every connect (harmless with a persistent
/// session, needed without one) and reports publish acknowledgements.
///
/// A message that does not fit the byte budget waits here. Up to
/// `WAITING_MAX` bytes wait while the event loop goes on (keep-alives, acks,
/// the publisher's events); past that the pump stops reading until ingest
/// commits and frees room, which takes a group commit's time, far under the
/// keep-alive. Memory is bounded by the budget plus `WAITING_MAX`.
pub async fn pump(mut eventloop: EventLoop, mut parts: PumpParts) {
    let mut failures = 0u32;
    let mut link = Link::default();
    let mut acks_open = true;
    // Received, waiting for room in the budget, in arrival order.
    let mut waiting: std::collections::VecDeque<(Publish, AckTicket)> = Default::default();
    let mut waiting_bytes = 0usize;
    // Committed, not yet handed to the client (its request queue was full).
    let mut acks_due: std::collections::VecDeque<AckTicket> = Default::default();
    loop {
        while let Some(t) = acks_due.front() {
            if !send_ack(&parts.client, &link, *t) {
                break;
            }
            acks_due.pop_front();
        }
        while let Some((p, _)) = waiting.front() {
            let Ok(permit) = parts.budget.clone().try_acquire_many_owned(budget_for(p)) else {
                break;
            };
            let (p, ack) = waiting.pop_front().expect("front exists");
            waiting_bytes -= p.payload.len();
            let d = Delivery {
                topic: p.topic,
                payload: p.payload,
                ack,
                permit,
            };
            if parts.inbound.send(d).is_err() {
                return;
            }
        }
        let want = waiting.front().map_or(1, |(p, _)| budget_for(p));
        // The event loop is polled in a select!: rumqttc keeps partial reads
        // in its buffers, so a poll interrupted by an ack loses nothing. Acks
        // wait while the link is down, so they never interrupt a connect.
        let event = tokio::select! {
            biased;
            t = parts.acks.recv(), if acks_open && link.connected => {
                match t {
                    Some(t) => acks_due.push_back(t),
                    None => acks_open = false,
                }
                continue;
            }
            _ = parts.budget.acquire_many(want), if !waiting.is_empty() => continue,
            e = eventloop.poll(), if waiting_bytes < WAITING_MAX => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                failures = 0;
                // Every connection is a session of its own for acks: one
                // queued for the last connection is dropped, and the broker
                // delivers that message again if it kept it.
                link.session += 1;
                link.connected = true;
                link.error = None;
                info!(
                    session_present = ack.session_present,
                    "connected to the broker"
                );
                if !ack.session_present {
                    // rumqttc dropped its unacknowledged publishes with the
                    // old session: the publisher must send them again.
                    let _ = parts.feedback.send(Feedback::NewSession);
                }
                let filters = parts
                    .subscriptions
                    .iter()
                    .map(|s| SubscribeFilter::new(s.clone(), QoS::AtLeastOnce));
                if let Err(e) = parts.client.try_subscribe_many(filters) {
                    link.error = Some(format!("cannot subscribe: {e}"));
                    error!(error = %e, "cannot subscribe");
                }
                parts.link.send_replace(link.clone());
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let refused: Vec<&str> = ack
                    .return_codes
                    .iter()
                    .zip(&parts.subscriptions)
                    .filter(|(c, _)| matches!(c, SubscribeReasonCode::Failure))
                    .map(|(_, t)| t.as_str())
                    .collect();
                link.error = if refused.is_empty() {
                    None
                } else {
                    let e = format!(
                        "the broker refused the subscription to {} (check the broker's ACL for this station)",
                        refused.join(", ")
                    );
                    error!(error = %e, "subscription refused");
                    Some(e)
                };
                parts.link.send_replace(link.clone());
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let ack = AckTicket {
                    session: link.session,
                    pkid: p.pkid,
                    qos: p.qos,
                };
                waiting_bytes += p.payload.len();
                waiting.push_back((p, ack));
            }
            Ok(Event::Incoming(Packet::PubAck(a))) => {
                let _ = parts.feedback.send(Feedback::Acked(a.pkid));
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let _ = parts.feedback.send(Feedback::Sent(pkid));
            }
            // The publisher says goodbye last; nothing follows.
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(other) => debug!(event = ?other, "mqtt"),
            Err(e) => {
                let why = describe(&e, &parts.settings);
                if link.connected || link.error.as_deref() != Some(why.as_str()) {
                    error!(error = %why, "broker connection lost");
                }
                link.connected = false;
                link.error = Some(why);
                parts.link.send_replace(link.clone());
                failures += 1;
                let wait = Duration::from_millis(200 * u64::from(failures.min(25)));
                if parts.feedback.is_closed() {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Publishes at QoS 1 with several messages in flight, each matched to its
/// PUBACK by packet id.
///
/// Messages are known by a key (an outbox row, a state). A message whose ack
/// did not come in time stays in flight (rumqttc retransmits it after a
/// reconnect) and is never handed to the client twice; a new session forgets
/// it, and its row, still unsent, goes out again on the next pass.
pub struct Publisher {
    client: AsyncClient,
    feedback: mpsc::UnboundedReceiver<Feedback>,
    /// Handed to the client and not yet acknowledged, in the order sent: the
    /// client writes them in that order, which is how a packet id is learnt.
    in_flight: std::collections::VecDeque<(String, Option<u16>)>,
    /// Acknowledged since the caller last asked.
    acked: std::collections::HashSet<String>,
}

/// How long the publisher waits for acknowledgements before it gives up for
/// this pass (the link may be down; nothing is lost, it tries again).
const ACK_WAIT: Duration = Duration::from_secs(10);

impl Publisher {
    pub fn new(client: AsyncClient, feedback: mpsc::UnboundedReceiver<Feedback>) -> Self {
        Publisher {
            client,
            feedback,
            in_flight: Default::default(),
            acked: Default::default(),
        }
    }

    fn is_in_flight(&self, key: &str) -> bool {
        self.in_flight.iter().any(|(k, _)| k == key)
    }

    fn on_feedback(&mut self, f: Feedback) {
        match f {
            // A retransmission after a reconnect reuses its packet id.
            Feedback::Sent(p) if self.in_flight.iter().any(|(_, id)| *id == Some(p)) => {}
            Feedback::Sent(p) => {
                if let Some(e) = self.in_flight.iter_mut().find(|(_, id)| id.is_none()) {
                    e.1 = Some(p);
                }
            }
            Feedback::Acked(p) => {
                if let Some(i) = self.in_flight.iter().position(|(_, id)| *id == Some(p)) {
                    let (key, _) = self.in_flight.remove(i).expect("position exists");
                    self.acked.insert(key);
                }
            }
            // rumqttc dropped its unacknowledged publishes with the session.
            Feedback::NewSession => self.in_flight.clear(),
        }
    }

    /// Takes the feedback that has already arrived, without waiting.
    fn take_feedback(&mut self) {
        while let Ok(f) = self.feedback.try_recv() {
            self.on_feedback(f);
        }
    }

    /// Waits for one piece of feedback until `deadline`; false if none came.
    async fn next_feedback(&mut self, deadline: tokio::time::Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.feedback.recv()).await {
            Ok(Some(f)) => {
                self.on_feedback(f);
                true
            }
            _ => false,
        }
    }

    /// Hands one message to the client, waiting only while the window is
    /// full; false if it could not be sent now.
    async fn send(&mut self, key: &str, topic: &str, payload: Vec<u8>, retain: bool) -> bool {
        self.take_feedback();
        let deadline = tokio::time::Instant::now() + ACK_WAIT;
        while self.in_flight.len() >= PUBLISH_WINDOW {
            if !self.next_feedback(deadline).await {
                return false;
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
        self.in_flight.push_back((key.to_string(), None));
        true
    }

    /// Waits until everything in flight is acknowledged, or `ACK_WAIT`.
    async fn settle(&mut self) {
        self.take_feedback();
        let deadline = tokio::time::Instant::now() + ACK_WAIT;
        while !self.in_flight.is_empty() {
            if !self.next_feedback(deadline).await {
                return;
            }
        }
    }

    /// The keys starting with `prefix` acknowledged since the last call.
    fn take_acked(&mut self, prefix: &str) -> Vec<String> {
        let mut taken = Vec::new();
        self.acked.retain(|k| {
            if k.starts_with(prefix) {
                taken.push(k.clone());
                false
            } else {
                true
            }
        });
        taken
    }

    /// Publishes `payload` as the message `key` and says whether the broker
    /// has acknowledged it. A key still in flight is not sent again.
    pub async fn publish(
        &mut self,
        key: &str,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
    ) -> bool {
        if !self.is_in_flight(key) && !self.send(key, topic, payload, retain).await {
            return false;
        }
        self.settle().await;
        let acked = self.acked.remove(key);
        // An older message of the same kind (a state since replaced) that
        // was acknowledged late is of no use to anyone now.
        if let Some((kind, _)) = key.split_once(':') {
            self.take_acked(&format!("{kind}:"));
        }
        acked
    }
}

fn state_key(payload: &[u8]) -> String {
    use sha2::Digest;
    format!("state:{}", hex::encode(sha2::Sha256::digest(payload)))
}

/// Largest event the station publishes. Events are built small (no refused
/// value is quoted at length); a row over this size is a bug, and is set
/// aside rather than allowed to block every event behind it.
pub const MAX_EVENT_BYTES: usize = 64 << 10;

/// Publishes up to `limit` unsent events, oldest first, several in flight at
/// once, and marks those the broker acknowledged as sent, together: one
/// commit for the lot, not one per event (a crash in between sends some
/// again, which the contract allows).
///
/// Returns whether the outbox may hold more: a full batch went out whole.
async fn drain_outbox(
    publisher: &mut Publisher,
    store: &Store,
    topics: &Topics,
    limit: i64,
) -> bool {
    let batch = match store.unsent(limit).await {
        Ok(b) => b,
        Err(e) => {
            warn!(error = %e, "cannot read the outbox");
            return false;
        }
    };
    let full = batch.len() as i64 == limit;
    let mut all_sent = true;
    for (id, payload) in batch {
        if payload.len() > MAX_EVENT_BYTES {
            error!(
                event = id,
                bytes = payload.len(),
                "event too large to publish; set aside"
            );
            if let Err(e) = store.set_aside(id).await {
                warn!(error = %e, "cannot set an event aside");
                break;
            }
            continue;
        }
        let key = format!("event:{id}");
        if publisher.is_in_flight(&key) {
            continue;
        }
        if !publisher
            .send(&key, &topics.events, payload.into_bytes(), false)
            .await
        {
            all_sent = false;
            break;
        }
    }
    publisher.settle().await;
    all_sent &= publisher.in_flight.is_empty();
    let sent: Vec<i64> = publisher
        .take_acked("event:")
        .iter()
        .filter_map(|k| k["event:".len()..].parse().ok())
        .collect();
    if let Err(e) = store.mark_sent(&sent).await {
        warn!(error = %e, "cannot mark events sent; they will be sent again");
        return false;
    }
    full && all_sent
}

/// The retained state as published: the queue's report, unless the link
/// itself is broken for the station's purpose (a refused subscription), in
/// which case the central system must not see the station as online.
fn state_payload(report: &[u8], link: &Link) -> Vec<u8> {
    let Some(error) = &link.error else {
        return report.to_vec();
    };
    let mut v: serde_json::Value =
        serde_json::from_slice(report).unwrap_or_else(|_| serde_json::json!({}));
    v["online"] = serde_json::Value::Bool(false);
    v["error"] = serde_json::Value::String(error.clone());
    v.to_string().into_bytes()
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
    mut link: watch::Receiver<Link>,
    mut stop: Shutdown,
) {
    let mut state_dirty = true;
    loop {
        if link.borrow().connected {
            if state_dirty {
                let payload = state_payload(&state.borrow_and_update(), &link.borrow());
                state_dirty = !publisher
                    .publish(&state_key(&payload), &topics.state, payload, true)
                    .await;
            }
            // A school's burst leaves thousands of events: the next batch
            // goes at once, not at the next wake-up.
            if drain_outbox(&mut publisher, &store, &topics, 500).await && !stop.is_set() {
                continue;
            }
        }
        if stop.is_set() {
            break;
        }
        tokio::select! {
            _ = outbox_ready.notified() => {}
            r = state.changed() => { if r.is_ok() { state_dirty = true; } }
            r = link.changed() => { if r.is_ok() && link.borrow().connected { state_dirty = true; } }
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
    // A broken link gets no farewell: the broker sends the will for us.
    if link.borrow().connected {
        let _ = tokio::time::timeout(Duration::from_secs(5), farewell).await;
    }
    let _ = client.try_disconnect();
}
