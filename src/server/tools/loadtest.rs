//! `vizora loadtest`: runs a real server process on a fresh SQLite database,
//! its simulated displays in processes of their own (so the server's memory
//! and CPU are its own, and no process nears its file limit), and operator
//! streams in this one. It prints:
//!
//! - the connect storm: how long until every operator saw every display come
//!   up, and the latency from each display's first heartbeat to that status
//!   on every operator socket (p50/p99/max);
//! - a quiet fleet: single status changes (one display reports an error, one
//!   at a time) and their latency to every operator socket;
//! - heartbeats per second over a steady window, and the server's memory
//!   per display connection.
//!
//! The display processes are `vizora loadtest-displays`: tokens on a file,
//! figures on stdout, commands on stdin (see [`displays`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin},
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use super::simulator::{self, SimCommand, SimDisplay, SimOptions};
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
    /// Displays beat this often instead (a short interval, for ingest).
    pub beat_ms: Option<u64>,
    /// Processes the displays are spread over.
    pub processes: usize,
    /// Single status changes timed in the quiet fleet.
    pub quiet_samples: usize,
    /// The connect storm's first connections are spread over this long.
    pub spread_ms: u64,
    /// Where to write the server's `/metrics` before and after the load
    /// (`before.prom`, `after.prom`), if anywhere.
    pub metrics_dir: Option<std::path::PathBuf>,
}

/// One HTTP/1.1 request on its own connection: (status, body).
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> Result<(u16, String), String> {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {SESSION_COOKIE}={cookie}\r\n\
         Accept-Encoding: identity\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
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

fn summary(latencies: &mut [i64]) -> String {
    latencies.sort_unstable();
    format!(
        "p50 {}  p99 {}  max {}  ({} deliveries)",
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        latencies.len()
    )
}

/// A `vizora serve` of this binary on `dir` at `addr`, once it accepts
/// connections; killed when dropped.
pub(super) async fn start_server(
    dir: &std::path::Path,
    addr: &str,
    config: Option<&std::path::Path>,
    env: &[(&str, &str)],
) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["serve", "--bind", addr, "--data-dir"]).arg(dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    // Its log (warnings and worse) goes to `dir/server.log`.
    let log = std::fs::File::create(dir.join("server.log"))
        .map_err(|e| format!("cannot write the server's log: {e}"))?;
    let server = cmd
        .env("VIZORA_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(log)
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

/// What the operator sockets saw, by display: when each first came up, and
/// when each first showed an error.
#[derive(Default)]
struct Seen {
    up: Vec<HashMap<String, i64>>,
    errors: Vec<HashMap<String, i64>>,
}

/// What the display processes reported.
#[derive(Default)]
struct Reported {
    connected: HashMap<usize, u64>,
    heartbeats: HashMap<usize, u64>,
    first_beat: HashMap<String, i64>,
    errors_sent: HashMap<String, i64>,
}

impl Reported {
    fn connected(&self) -> u64 {
        self.connected.values().sum()
    }
    fn heartbeats(&self) -> u64 {
        self.heartbeats.values().sum()
    }
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

    let seen = Arc::new(Mutex::new(Seen {
        up: vec![HashMap::new(); args.operators],
        errors: vec![HashMap::new(); args.operators],
    }));
    for op in 0..args.operators {
        operator(&db, &user_id, &addr, op, seen.clone()).await?;
    }
    let admin = create_session(&db, &user_id, 1, None)
        .await
        .map_err(|e| e.to_string())?;
    scrape(&addr, &admin, args.metrics_dir.as_deref(), "before.prom").await?;

    let started = Instant::now();
    let displays = simulator::enroll(&db, &org_id, args.displays).await?;
    println!(
        "enrolled {} displays in {:.1} s",
        displays.len(),
        started.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = displays.iter().map(|d| d.device_id.clone()).collect();
    let baseline = rss_kib(pid).unwrap_or_default();
    println!(
        "server pid {pid} on {addr}; RSS before the displays {} MiB",
        baseline / 1024
    );

    // The storm: every display process connects its share at once.
    let reported = Arc::new(Mutex::new(Reported::default()));
    let processes = args.processes.clamp(1, 64);
    let chunk = displays.len().div_ceil(processes).max(1);
    let mut children = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    let storm = Instant::now();
    for (i, part) in displays.chunks(chunk).enumerate() {
        for d in part {
            owner.insert(d.device_id.clone(), i);
        }
        children.push(spawn_displays(&dir, i, part, &addr, &args, reported.clone()).await?);
    }

    // Settled: every operator saw every display come up.
    let deadline = Instant::now() + Duration::from_secs(60 + args.displays as u64 / 100);
    let mut last_progress = Instant::now();
    let settled = loop {
        let up = seen
            .lock()
            .unwrap()
            .up
            .iter()
            .map(HashMap::len)
            .min()
            .unwrap_or(0);
        if up >= args.displays {
            break Some(storm.elapsed());
        }
        if Instant::now() > deadline {
            break None;
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let r = reported.lock().unwrap();
            println!(
                "  {:>5.1} s: {} connected, {} first beats sent, every operator saw {up} up",
                storm.elapsed().as_secs_f64(),
                r.connected(),
                r.first_beat.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let connected = reported.lock().unwrap().connected();
    let after_storm = rss_kib(pid).unwrap_or_default();

    // Heartbeat throughput over a steady window (the fleet is idle after it).
    let beat = Duration::from_millis(
        args.beat_ms
            .unwrap_or(args.heartbeat_seconds.max(1) * 1_000),
    );
    let window = (beat * 3).max(Duration::from_secs(10));
    let before = reported.lock().unwrap().heartbeats();
    let received_before = heartbeats_received(&addr, &admin).await?;
    let window_start = Instant::now();
    tokio::time::sleep(window).await;
    let received = heartbeats_received(&addr, &admin).await? - received_before;
    let seconds = window_start.elapsed().as_secs_f64();
    let beats = reported.lock().unwrap().heartbeats() - before;
    let beats_per_s = beats as f64 / seconds;
    let received_per_s = received / seconds;
    let idle = rss_kib(pid).unwrap_or_default();

    // The quiet fleet: one display at a time reports an error.
    let mut quiet: Vec<i64> = Vec::new();
    let mut quiet_missing = 0;
    for k in 0..args.quiet_samples.min(ids.len()) {
        let id = &ids[(k * 7_919) % ids.len()];
        let child = owner[id];
        children[child]
            .1
            .write_all(format!("error {id}\n").as_bytes())
            .await
            .map_err(|e| format!("display process: {e}"))?;
        let asked = Instant::now();
        let got = loop {
            let sent = reported.lock().unwrap().errors_sent.get(id).copied();
            let arrivals: Vec<i64> = {
                let seen = seen.lock().unwrap();
                seen.errors
                    .iter()
                    .filter_map(|m| m.get(id).copied())
                    .collect()
            };
            if let Some(sent) = sent.filter(|_| arrivals.len() == args.operators) {
                break Some((sent, arrivals));
            }
            if asked.elapsed() > Duration::from_secs(10) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        match got {
            Some((sent, arrivals)) => {
                quiet.extend(arrivals.into_iter().map(|at| (at - sent).max(0)))
            }
            None => quiet_missing += 1,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An operator's change amid the fleet: ops through the change path.
    let mut ops: Vec<i64> = Vec::new();
    for i in 0..20 {
        let body = serde_json::json!({
            "op_id": crate::server::core::new_id(),
            "base_version": null,
            "change": {"kind": "create_device", "device_id": crate::server::core::new_id(),
                       "name": format!("Load op {i}"), "group_id": null, "tags": [], "timezone": "UTC"},
        });
        let asked = Instant::now();
        let (status, answer) =
            http(&addr, "POST", "/api/v1/ops", &admin, &body.to_string()).await?;
        if status != 200 {
            return Err(format!("an op was refused ({status}): {answer}"));
        }
        ops.push(asked.elapsed().as_millis() as i64);
    }
    scrape(&addr, &admin, args.metrics_dir.as_deref(), "after.prom").await?;

    let mut storm_latencies: Vec<i64> = Vec::new();
    let mut missing = 0usize;
    {
        let firsts = &reported.lock().unwrap().first_beat;
        for m in &seen.lock().unwrap().up {
            for id in &ids {
                match (firsts.get(id), m.get(id)) {
                    (Some(sent), Some(got)) => storm_latencies.push((got - sent).max(0)),
                    _ => missing += 1,
                }
            }
        }
    }
    println!(
        "displays connected:     {connected} of {} (over {} processes)",
        args.displays,
        children.len()
    );
    println!("operator streams:       {}", args.operators);
    match settled {
        Some(t) => println!(
            "connect storm settled:  {:.1} s (every operator saw every display up)",
            t.as_secs_f64()
        ),
        None => println!("connect storm settled:  not within the deadline"),
    }
    println!(
        "storm status → operator (ms): {}, {missing} missing",
        summary(&mut storm_latencies)
    );
    println!(
        "quiet status → operator (ms): {}, {quiet_missing} of {} changes missing",
        summary(&mut quiet),
        args.quiet_samples
    );
    println!("operator op, answered (ms): {}", summary(&mut ops));
    println!(
        "heartbeats per second:  {received_per_s:.0} received by the server, {beats_per_s:.0} sent (over {seconds:.1} s; every {} ms per display)",
        beat.as_millis()
    );
    let per_conn = |rss: u64| rss.saturating_sub(baseline) as f64 / (connected.max(1) as f64);
    println!(
        "server RSS: before {} MiB, storm settled {} MiB ({:.1} KiB per display), idle after the window {} MiB ({:.1} KiB per display)",
        baseline / 1024,
        after_storm / 1024,
        per_conn(after_storm),
        idle / 1024,
        per_conn(idle)
    );
    for (mut child, _) in children {
        let _ = child.kill().await;
    }
    let _ = server.kill().await;
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let warnings = log.lines().filter(|l| l.contains("WARN")).count();
    match args.metrics_dir.as_deref() {
        Some(keep) => {
            let _ = std::fs::write(keep.join("server.log"), &log);
            println!(
                "server log:             {warnings} warnings ({})",
                keep.join("server.log").display()
            );
        }
        None => println!("server log:             {warnings} warnings (--metrics-dir keeps it)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Reads the server's `/metrics` (as an admin) into `dir/name`.
async fn scrape(
    addr: &str,
    admin: &str,
    dir: Option<&std::path::Path>,
    name: &str,
) -> Result<(), String> {
    let Some(dir) = dir else { return Ok(()) };
    let (status, text) = http(addr, "GET", "/metrics", admin, "").await?;
    if status != 200 {
        return Err(format!("/metrics answered {status}: {text}"));
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(name), text).map_err(|e| e.to_string())
}

/// The server's count of heartbeats received (`vizora_heartbeats_total`).
async fn heartbeats_received(addr: &str, admin: &str) -> Result<f64, String> {
    let (status, text) = http(addr, "GET", "/metrics", admin, "").await?;
    if status != 200 {
        return Err(format!("/metrics answered {status}: {text}"));
    }
    text.lines()
        .find_map(|line| line.strip_prefix("vizora_heartbeats_total "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "/metrics has no vizora_heartbeats_total".into())
}

/// An operator stream that notes when it first sees each display come up
/// and each first show an error.
async fn operator(
    db: &Db,
    user_id: &str,
    addr: &str,
    op: usize,
    seen: Arc<Mutex<Seen>>,
) -> Result<(), String> {
    let token = create_session(db, user_id, 1, None)
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
    tokio::spawn(async move {
        let (_tx, mut rx) = socket.split();
        while let Some(Ok(msg)) = rx.next().await {
            let Message::Text(text) = msg else { continue };
            let at = now_ms();
            if let Ok(StreamFrame::Event { event }) = serde_json::from_str(&text) {
                if let EventBody::DeviceUpserted { device } = event.body {
                    let mut seen = seen.lock().unwrap();
                    match device.status {
                        DeviceStatus::Offline => {}
                        DeviceStatus::Error => {
                            seen.errors[op].entry(device.id).or_insert(at);
                        }
                        _ => {
                            seen.up[op].entry(device.id).or_insert(at);
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

/// Starts a display process for `part`; its report lines update `reported`.
async fn spawn_displays(
    dir: &std::path::Path,
    index: usize,
    part: &[SimDisplay],
    addr: &str,
    args: &LoadArgs,
    reported: Arc<Mutex<Reported>>,
) -> Result<(Child, ChildStdin), String> {
    let tokens = dir.join(format!("displays-{index}.txt"));
    let lines: String = part
        .iter()
        .map(|d| format!("{} {}\n", d.device_id, d.token))
        .collect();
    std::fs::write(&tokens, lines).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("loadtest-displays")
        .arg("--server")
        .arg(format!("http://{addr}"))
        .arg("--tokens")
        .arg(&tokens)
        .arg("--spread-ms")
        .arg(args.spread_ms.to_string());
    if let Some(ms) = args.beat_ms {
        cmd.arg("--beat-ms").arg(ms.to_string());
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start a display process: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut words = line.split_whitespace();
            let mut r = reported.lock().unwrap();
            match (words.next(), words.next(), words.next()) {
                (Some("stats"), Some(connected), Some(beats)) => {
                    r.connected.insert(index, connected.parse().unwrap_or(0));
                    r.heartbeats.insert(index, beats.parse().unwrap_or(0));
                }
                (Some("first"), Some(id), Some(at)) => {
                    r.first_beat.insert(id.to_string(), at.parse().unwrap_or(0));
                }
                (Some("sent"), Some(id), Some(at)) => {
                    r.errors_sent
                        .insert(id.to_string(), at.parse().unwrap_or(0));
                }
                _ => {}
            }
        }
    });
    Ok((child, stdin))
}

/// `vizora loadtest-displays`: one process's share of a load test's fleet.
/// Reads `ID TOKEN` lines from `tokens`, runs those displays against
/// `server`, and writes to stdout every 250 ms `stats CONNECTED HEARTBEATS`,
/// `first ID MS` for each display's first heartbeat and `sent ID MS` for
/// each error it was asked for; reads `error ID` commands from stdin.
pub async fn displays(
    server: &str,
    tokens: &std::path::Path,
    beat_ms: Option<u64>,
    spread_ms: u64,
) -> Result<(), String> {
    let text = std::fs::read_to_string(tokens).map_err(|e| e.to_string())?;
    let part: Vec<SimDisplay> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, token)| SimDisplay {
            device_id: id.to_string(),
            token: token.to_string(),
        })
        .collect();
    let fleet = simulator::spawn_fleet(
        server,
        part,
        SimOptions {
            beat_ms,
            ..SimOptions::quiet()
        },
        Duration::from_millis(spread_ms),
    );
    let stats = fleet.stats.clone();
    let commands = fleet.commands;
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(id) = line.strip_prefix("error ") {
                if let Some(tx) = commands.get(id.trim()) {
                    let _ = tx.send(SimCommand::Error).await;
                }
            }
        }
    });
    let mut out = tokio::io::stdout();
    let mut reported_firsts = std::collections::HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        use std::{fmt::Write, sync::atomic::Ordering::Relaxed};
        let mut report = String::new();
        let _ = writeln!(
            report,
            "stats {} {}",
            stats.connected.load(Relaxed),
            stats.heartbeats.load(Relaxed)
        );
        for (id, at) in stats.first_beat.lock().unwrap().iter() {
            if reported_firsts.insert(id.clone()) {
                let _ = writeln!(report, "first {id} {at}");
            }
        }
        for (id, at) in stats.errors_sent.lock().unwrap().drain(..) {
            let _ = writeln!(report, "sent {id} {at}");
        }
        if out.write_all(report.as_bytes()).await.is_err() {
            return Ok(());
        }
        let _ = out.flush().await;
    }
}
