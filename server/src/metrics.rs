//! What the server measures about itself, served at `/metrics` in
//! Prometheus' text format: counts and latencies, never a name, a note or
//! a session id.
//!
//! - `tavolo_change_durable_seconds`: from the moment a client's sync
//!   message reached its connection to the group commit that made its
//!   accepted changes durable — the delay the durability rule adds before
//!   a change may go out to anyone (one observation per accepted change);
//! - `tavolo_commit_seconds`: one group commit (the transaction and its
//!   fsync), one observation per commit;
//! - `tavolo_changes_accepted_total`: changes accepted from clients.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Instant;

/// Bucket bounds in seconds: fine below 50 ms (the durability target),
/// coarse above.
const BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

struct Metrics {
    registry: Registry,
    change_durable: Histogram,
    commit: Histogram,
    accepted: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let change_durable = Histogram::new(BUCKETS.into_iter());
    let commit = Histogram::new(BUCKETS.into_iter());
    let accepted = Counter::default();
    registry.register(
        "tavolo_change_durable_seconds",
        "From a client's sync message reaching the server to its accepted changes being durable",
        change_durable.clone(),
    );
    registry.register(
        "tavolo_commit_seconds",
        "One group commit of the storage, fsync included",
        commit.clone(),
    );
    registry.register(
        "tavolo_changes_accepted",
        "Changes accepted from clients",
        accepted.clone(),
    );
    Metrics {
        registry,
        change_durable,
        commit,
        accepted,
    }
});

/// `changes` accepted changes, from a message that arrived at `received`,
/// are durable now.
pub fn changes_durable(received: Instant, changes: usize, now: Instant) {
    let seconds = now.saturating_duration_since(received).as_secs_f64();
    let m = &*METRICS;
    for _ in 0..changes {
        m.change_durable.observe(seconds);
    }
    m.accepted.inc_by(changes as u64);
}

/// A group commit took this long.
pub fn commit_took(since: Instant) {
    METRICS.commit.observe(since.elapsed().as_secs_f64());
}

/// The text exposition.
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &METRICS.registry);
    out
}
