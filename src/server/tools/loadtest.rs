//! `vizora loadtest`: runs a real server process on a fresh SQLite database,
//! connects N simulated displays and M operator streams to it, and prints
//! displays connected, heartbeats per second, the latency from a display's
//! status change (its first heartbeat) to that event's arrival on every
//! operator socket (p50/p99/max), and the server's memory per connection.

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use super::simulator;
use crate::{
    model::{DeviceStatus, EventBody, StreamFrame},
    server::{
        auth::{sessions::create_session, SESSION_COOKIE},
        core::{db::default_url, now_ms, Db},
    },
};

pub struct LoadArgs {
    pub displays: usize,
    pub operators: usize,
    pub port: u16,
    pub heartbeat_seconds: u64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// A `vizora serve` of this binary on `dir` at `addr`, once it accepts
/// connections; killed when dropped.
pub(super) async fn start_server(
    dir: &std::path::Path,
    addr: &str,
    config: Option<&std::path::Path>,
    env: &[(&str, &str)],
) -> Result<tokio::process::Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["serve", "--bind", addr, "--data-dir"]).arg(dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let server = cmd
        .env("VIZORA_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not start".into())
}

pub async fn run(args: LoadArgs) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("vizora-load-{}", now_ms()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("load.toml");
    std::fs::write(
        &config,
        // Every simulated display comes from this one address.
        format!(
            "[vizora]\nheartbeat-seconds = {}\nconnections-per-address = {}\n",
            args.heartbeat_seconds,
            args.displays + args.operators + 64
        ),
    )
    .map_err(|e| e.to_string())?;
    let addr = format!("127.0.0.1:{}", args.port);
    let mut server = start_server(
        &dir,
        &addr,
        Some(&config),
        &[("VIZORA_ADMIN_EMAIL", "load@vizora.test")],
    )
    .await?;
    let pid = server.id().unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = Db::connect(&default_url(&dir)).await?;
    db.migrate().await?;
    let (org_id, user_id): (String, String) =
        sqlx::query_as("SELECT org_id, id FROM users ORDER BY created_at LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    let baseline = rss_kib(pid).unwrap_or_default();
    println!(
        "server pid {pid} on {addr}; RSS at start {} MiB",
        baseline / 1024
    );

    // Operator streams: each notes when it first sees each display come up.
    let seen: Arc<Mutex<Vec<HashMap<String, i64>>>> =
        Arc::new(Mutex::new(vec![HashMap::new(); args.operators]));
    for op in 0..args.operators {
        let token = create_session(&db, &user_id, 1, None)
            .await
            .map_err(|e| e.to_string())?;
        let mut request = format!("ws://{addr}/api/v1/stream")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "cookie",
            format!("{SESSION_COOKIE}={token}")
                .parse()
                .map_err(|_| "bad cookie".to_string())?,
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| format!("operator stream: {e}"))?;
        let seen = seen.clone();
        tokio::spawn(async move {
            let (_tx, mut rx) = socket.split();
            while let Some(Ok(msg)) = rx.next().await {
                let Message::Text(text) = msg else { continue };
                let at = now_ms();
                if let Ok(StreamFrame::Event { event }) = serde_json::from_str(&text) {
                    if let EventBody::DeviceUpserted { device } = event.body {
                        if device.status != DeviceStatus::Offline {
                            seen.lock().unwrap()[op].entry(device.id).or_insert(at);
                        }
                    }
                }
            }
        });
    }

    let started = Instant::now();
    let displays = simulator::enroll(&db, &org_id, args.displays).await?;
    println!(
        "enrolled {} displays in {:.1} s",
        displays.len(),
        started.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = displays.iter().map(|d| d.device_id.clone()).collect();
    let quiet = simulator::SimOptions {
        disconnects_per_hour: 0.0,
        errors_per_hour: 0.0,
        long_drop_share: 0.0,
    };
    let stats = simulator::spawn(&format!("http://{addr}"), displays, quiet);

    // Wait until every operator saw every display come up, or give up.
    let deadline = Instant::now() + Duration::from_secs(60 + args.displays as u64 / 100);
    loop {
        let done = seen
            .lock()
            .unwrap()
            .iter()
            .all(|m| m.len() >= args.displays);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connected = stats.connected.load(Ordering::Relaxed);
    let after = rss_kib(pid).unwrap_or_default();

    // Heartbeat throughput over a steady window.
    let window = Duration::from_secs(args.heartbeat_seconds.max(1) * 3);
    let before = stats.heartbeats.load(Ordering::Relaxed);
    tokio::time::sleep(window).await;
    let beats = stats.heartbeats.load(Ordering::Relaxed) - before;
    let peak = rss_kib(pid).unwrap_or_default();

    let firsts = stats.first_beat.lock().unwrap().clone();
    let mut latencies: Vec<i64> = Vec::new();
    let mut missing = 0usize;
    for m in seen.lock().unwrap().iter() {
        for id in &ids {
            match (firsts.get(id), m.get(id)) {
                (Some(sent), Some(got)) => latencies.push((got - sent).max(0)),
                _ => missing += 1,
            }
        }
    }
    latencies.sort_unstable();
    println!("displays connected:     {connected} of {}", args.displays);
    println!("operator streams:       {}", args.operators);
    println!(
        "heartbeats per second:  {:.0} (over {} s; interval {} s)",
        beats as f64 / window.as_secs_f64(),
        window.as_secs(),
        args.heartbeat_seconds
    );
    println!(
        "status → operator (ms): p50 {}  p99 {}  max {}  ({} deliveries, {} missing)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        latencies.len(),
        missing
    );
    let per_conn = (after.saturating_sub(baseline)) as f64 / (connected.max(1) as f64);
    println!(
        "server RSS: start {} MiB, all connected {} MiB, after the window {} MiB; ≈ {:.1} KiB per display connection",
        baseline / 1024,
        after / 1024,
        peak / 1024,
        per_conn
    );
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
