//! What the server measures about itself, served at `/metrics` in
//! Prometheus' text format: counts and latencies, never a name, a note or
//! a session id.
//!
//! - `tavolo_change_durable_seconds`: from the moment a client's sync
//!   message reached its connection to the group commit that made its
//!   accepted changes durable — the delay the durability rule adds before
//!   a change may go out to anyone (one observation per accepted change);
//! - `tavolo_commit_seconds`: one group commit (the transaction and its
//!   fsync), one observation per commit; on PostgreSQL, one transaction
//!   appending a document's changes, commit included;
//! - `tavolo_changes_accepted_total`: changes accepted from clients;
//! - `tavolo_changes_refused_total{code}`: messages whose changes policy
//!   refused, by the refusal's code (`not_yours`, `phase_locked`, …);
//! - `tavolo_fanout_seconds`: one pass sending what changed to every peer
//!   of a document (generating the messages and queueing them), one
//!   observation per pass that sent something;
//! - `tavolo_fanout_messages_total`: messages queued by those passes;
//! - `tavolo_storage_errors_total{operation}`: failed storage operations
//!   of document actors (`append`, `dots`, `compact`);
//! - `tavolo_connections`: open sync sockets;
//! - `tavolo_open_sessions`, `tavolo_open_documents`: loaded in memory.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

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
    refused: Family<CodeLabel, Counter>,
    fanout: Histogram,
    fanout_messages: Counter,
    storage_errors: Family<OperationLabel, Counter>,
    connections: Gauge,
    open_sessions: Gauge,
    open_documents: Gauge,
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
    let refused = Family::<CodeLabel, Counter>::default();
    registry.register(
        "tavolo_changes_refused",
        "Messages whose changes policy refused, by refusal code",
        refused.clone(),
    );
    // Fan-out passes take microseconds to milliseconds.
    let fanout = Histogram::new(
        [
            0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
        ]
        .into_iter(),
    );
    registry.register(
        "tavolo_fanout_seconds",
        "One pass sending what changed in a document to every peer that lacks it",
        fanout.clone(),
    );
    let fanout_messages = Counter::default();
    registry.register(
        "tavolo_fanout_messages",
        "Sync messages queued for peers by fan-out passes",
        fanout_messages.clone(),
    );
    let storage_errors = Family::<OperationLabel, Counter>::default();
    registry.register(
        "tavolo_storage_errors",
        "Failed storage operations of document actors, by operation",
        storage_errors.clone(),
    );
    let connections = Gauge::default();
    registry.register(
        "tavolo_connections",
        "Open sync sockets",
        connections.clone(),
    );
    let open_sessions = Gauge::default();
    registry.register(
        "tavolo_open_sessions",
        "Sessions loaded in memory",
        open_sessions.clone(),
    );
    let open_documents = Gauge::default();
    registry.register(
        "tavolo_open_documents",
        "Documents loaded in memory (each with its actor)",
        open_documents.clone(),
    );
    Metrics {
        registry,
        change_durable,
        commit,
        accepted,
        refused,
        fanout,
        fanout_messages,
        storage_errors,
        connections,
        open_sessions,
        open_documents,
    }
});

/// A message's changes were refused with this code.
pub fn refused(code: &'static str) {
    METRICS.refused.get_or_create(&CodeLabel { code }).inc();
}

/// A fan-out pass that queued `messages` messages took since `started`.
pub fn fanned_out(started: Instant, messages: usize) {
    let m = &*METRICS;
    m.fanout.observe(started.elapsed().as_secs_f64());
    m.fanout_messages.inc_by(messages as u64);
}

/// A storage operation of a document actor failed.
pub fn storage_error(operation: &'static str) {
    METRICS
        .storage_errors
        .get_or_create(&OperationLabel { operation })
        .inc();
}

/// Counts an open sync socket until dropped.
#[derive(Debug)]
pub struct ConnectionGauge(());

impl ConnectionGauge {
    pub fn open() -> Self {
        METRICS.connections.inc();
        Self(())
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        METRICS.connections.dec();
    }
}

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

/// The text exposition, with the registry's current counts of what is
/// loaded.
pub fn render_with(open_sessions: usize, open_documents: usize) -> String {
    METRICS.open_sessions.set(open_sessions as i64);
    METRICS.open_documents.set(open_documents as i64);
    render()
}

/// The text exposition.
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &METRICS.registry);
    out
}
