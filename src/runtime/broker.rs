//! An MQTT broker inside the process (rumqttd), for the demo, the tests and
//! a station that has no central broker yet.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

/// Largest message the embedded broker takes: a 5 MB photo in base64 plus
/// the order around it.
pub const MAX_PAYLOAD: usize = crate::runtime::mqtt::MAX_PACKET;

/// Starts a broker on a free loopback port and returns that port. rumqttd has
/// no shutdown: the broker lives as long as the process.
pub fn start_embedded() -> std::io::Result<u16> {
    // rumqttd cannot report the port it bound, so pick a free one first.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut v4 = HashMap::new();
    v4.insert(
        "v4".to_string(),
        rumqttd::ServerSettings {
            name: "v4".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: None,
            next_connection_delay_ms: 1,
            connections: rumqttd::ConnectionSettings {
                connection_timeout_ms: 60_000,
                max_payload_size: MAX_PAYLOAD,
                max_inflight_count: 100,
                auth: None,
                external_auth: None,
                dynamic_filters: true,
            },
        },
    );
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 100,
            max_outgoing_packet_count: 200,
            max_segment_size: 64 << 20,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(v4),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })?;
    // Wait until it accepts connections.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(std::io::Error::other("embedded broker did not start"))
}
