//! What whoever runs a fleet watches, as Prometheus text at `/metrics`:
//! connections, heartbeats and events, how long ops and stream deliveries
//! take, how deep the queues to each socket run, and the database pool.
//!
//! One process-wide set of atomics ([`METRICS`]): recording is a relaxed
//! add, never a lock, so the hot paths (heartbeats, fan-out) pay nothing
//! noticeable; the text is made only when someone scrapes.

use std::{
    fmt::Write,
    sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    time::Duration,
};

/// A count that only goes up.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

/// Adds one to a gauge for as long as it lives (a connection's lifetime).
pub struct Held(&'static Gauge);

impl Held {
    pub fn new(gauge: &'static Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A histogram over fixed upper bounds (cumulative when written out).
pub struct Histogram {
    bounds: &'static [f64],
    buckets: [AtomicU64; 16],
    count: AtomicU64,
    /// The sum, in millionths of the unit.
    sum_micros: AtomicU64,
}

/// Seconds, from a millisecond to ten seconds.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Messages waiting in a queue.
const DEPTHS: &[f64] = &[
    0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

impl Histogram {
    const fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: [const { AtomicU64::new(0) }; 16],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
    }

    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Every figure this process keeps.
pub struct Metrics {
    pub display_connections: Gauge,
    pub operator_connections: Gauge,
    pub heartbeats: Counter,
    /// Events the hubs read from the log and fanned out.
    pub events: Counter,
    /// Frames written to operator sockets.
    pub deliveries: Counter,
    /// Operator sockets dropped for not keeping up.
    pub slow_operators_dropped: Counter,
    /// From the op's arrival to its answer (the change path).
    pub op_seconds: Histogram,
    /// From an event's commit to its frame being written to an operator socket.
    pub delivery_seconds: Histogram,
    /// Frames waiting for an operator socket when it takes the next one.
    pub operator_queue_depth: Histogram,
    /// Messages waiting for a display socket when one more is queued.
    pub display_queue_depth: Histogram,
    /// How long a write waited for its turn (SQLite: one writer at a time).
    pub write_turn_wait_seconds: Histogram,
    /// How long a write held its turn.
    pub write_turn_held_seconds: Histogram,
}

pub static METRICS: Metrics = Metrics {
    display_connections: Gauge(AtomicI64::new(0)),
    operator_connections: Gauge(AtomicI64::new(0)),
    heartbeats: Counter(AtomicU64::new(0)),
    events: Counter(AtomicU64::new(0)),
    deliveries: Counter(AtomicU64::new(0)),
    slow_operators_dropped: Counter(AtomicU64::new(0)),
    op_seconds: Histogram::new(SECONDS),
    delivery_seconds: Histogram::new(SECONDS),
    operator_queue_depth: Histogram::new(DEPTHS),
    display_queue_depth: Histogram::new(DEPTHS),
    write_turn_wait_seconds: Histogram::new(SECONDS),
    write_turn_held_seconds: Histogram::new(SECONDS),
};

/// The database pool at the moment of a scrape.
pub struct PoolUse {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl PoolUse {
    pub fn of(db: &super::Db) -> Self {
        Self {
            size: db.pool.size(),
            idle: db.pool.num_idle(),
            max: db.pool.options().get_max_connections(),
        }
    }
}

/// `GET /metrics` on the console's address: admins only (a session, or an
/// admin's API token as a bearer). The `metrics-address` listener, when
/// configured, serves the same text to anyone who can reach it.
pub async fn handler(
    axum::extract::State(core): axum::extract::State<super::Core>,
    user: super::CurrentUser,
) -> Result<axum::response::Response, crate::error::AppError> {
    user.require_admin("read the metrics")?;
    Ok(exposition(&core.db))
}

/// The text with its content type.
pub fn exposition(db: &super::Db) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(PoolUse::of(db)),
    )
        .into_response()
}

/// The Prometheus text exposition (format 0.0.4) of everything above.
pub fn render(pool: PoolUse) -> String {
    let m = &METRICS;
    let mut out = String::with_capacity(4096);
    let mut gauge = |name: &str, help: &str, value: i64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "vizora_display_connections",
        "Display sockets open on this node.",
        m.display_connections.get(),
    );
    gauge(
        "vizora_operator_connections",
        "Operator stream sockets open on this node.",
        m.operator_connections.get(),
    );
    gauge(
        "vizora_db_pool_connections",
        "Database connections the pool holds.",
        pool.size as i64,
    );
    gauge(
        "vizora_db_pool_idle",
        "Database connections idle in the pool.",
        pool.idle as i64,
    );
    gauge(
        "vizora_db_pool_max",
        "The most database connections the pool opens.",
        pool.max as i64,
    );
    for (name, help, c) in [
        (
            "vizora_heartbeats_total",
            "Display heartbeats received.",
            &m.heartbeats,
        ),
        (
            "vizora_events_total",
            "Events read from the log and fanned out.",
            &m.events,
        ),
        (
            "vizora_stream_deliveries_total",
            "Event frames written to operator sockets.",
            &m.deliveries,
        ),
        (
            "vizora_slow_operators_dropped_total",
            "Operator sockets dropped for not taking frames in time.",
            &m.slow_operators_dropped,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            c.get()
        );
    }
    m.op_seconds.write(
        &mut out,
        "vizora_op_duration_seconds",
        "From an op's arrival to its answer.",
    );
    m.delivery_seconds.write(
        &mut out,
        "vizora_stream_delivery_seconds",
        "From an event's commit to its frame written to an operator socket.",
    );
    m.operator_queue_depth.write(
        &mut out,
        "vizora_operator_queue_depth",
        "Frames waiting for an operator socket, seen as it takes the next.",
    );
    m.display_queue_depth.write(
        &mut out,
        "vizora_display_queue_depth",
        "Messages waiting for a display socket, seen as one more is queued.",
    );
    m.write_turn_wait_seconds.write(
        &mut out,
        "vizora_db_write_wait_seconds",
        "How long a database write waited for its turn (SQLite writes one at a time).",
    );
    m.write_turn_held_seconds.write(
        &mut out,
        "vizora_db_write_held_seconds",
        "How long a database write held its turn.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_write_cumulative_buckets_count_and_sum() {
        let h = Histogram::new(SECONDS);
        for v in [0.0005, 0.003, 0.003, 20.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.001\"} 1\n"));
        assert!(out.contains("x_bucket{le=\"0.005\"} 3\n"));
        assert!(out.contains("x_bucket{le=\"10\"} 3\n"));
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4\n"));
        assert!(out.contains("x_count 4\n"));
        assert!(out.contains("x_sum 20.0065\n"), "{out}");
    }

    #[test]
    fn the_text_names_every_family_once_with_its_type() {
        let text = render(PoolUse {
            size: 3,
            idle: 1,
            max: 8,
        });
        for family in [
            "vizora_display_connections gauge",
            "vizora_heartbeats_total counter",
            "vizora_op_duration_seconds histogram",
            "vizora_stream_delivery_seconds histogram",
            "vizora_db_pool_connections gauge",
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {family}")).count(),
                1,
                "{family}"
            );
        }
        assert!(text.contains("vizora_db_pool_max 8\n"));
    }
}
