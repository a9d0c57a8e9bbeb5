//! The contract's topic names for one school and station.

#[derive(Debug, Clone)]
pub struct Topics {
    pub orders: String,
    pub orders_subscription: String,
    /// Cancels every station sees (shared orders reach one station only).
    pub cancels: String,
    pub revocations: String,
    pub events: String,
    pub state: String,
}

impl Topics {
    pub fn new(prefix: &str, school: &str, station: &str, shared: bool) -> Self {
        let base = format!("{prefix}/schools/{school}");
        let orders = format!("{base}/orders");
        Topics {
            orders_subscription: if shared {
                format!("$share/{school}/{orders}")
            } else {
                orders.clone()
            },
            orders,
            cancels: format!("{base}/cancels"),
            revocations: format!("{base}/revocations"),
            events: format!("{base}/stations/{station}/events"),
            state: format!("{base}/stations/{station}/state"),
        }
    }
}

impl Topics {
    /// What the station subscribes to: its orders (shared or not), and the
    /// cancels and revocations every station must see.
    pub fn subscriptions(&self) -> Vec<String> {
        vec![
            self.orders_subscription.clone(),
            self.cancels.clone(),
            self.revocations.clone(),
        ]
    }
}
