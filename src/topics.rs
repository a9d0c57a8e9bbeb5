//! The contract's topic names for one school and station.

#[derive(Debug, Clone)]
pub struct Topics {
    pub orders: String,
    pub orders_subscription: String,
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
            revocations: format!("{base}/revocations"),
            events: format!("{base}/stations/{station}/events"),
            state: format!("{base}/stations/{station}/state"),
        }
    }
}
