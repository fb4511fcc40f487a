//! Simulated displays over the real device protocol: each one a WebSocket to
//! `/device/ws` with a token, heartbeats with drifting metrics, proof of play
//! for its manifest, now and then an error, and random disconnects (some
//! long enough to show offline). `vizora simulate` runs them against any
//! server; `vizora serve --demo` runs them for the demo fleet, so its statuses
//! move on their own; `vizora loadtest` measures with them.
//!
//! Enrolling is an admin action on the database: a simulated display is a
//! display tagged `simulated` whose token the simulator mints at start (the
//! old one stops working). Displays paired by a real player are never taken.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sqlx::Row;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    model::{Device, DeviceStatus, DisplayMsg, Manifest, Metrics, ServerMsg},
    server::{
        core::{ids::sha256_hex, new_id, now_ms, Db},
        devices::store as devices,
        displays::new_device_token,
    },
};

pub const SIM_TAG: &str = "simulated";

pub struct SimDisplay {
    pub device_id: String,
    pub token: String,
}

/// How lively the simulated fleet is.
#[derive(Debug, Clone, Copy)]
pub struct SimOptions {
    /// Chance per display per hour of dropping its connection.
    pub disconnects_per_hour: f64,
    /// Chance per display per hour of reporting a player error.
    pub errors_per_hour: f64,
    /// Share of drops that stay away long enough to show offline.
    pub long_drop_share: f64,
    /// Beat this often instead of the interval the server asks for (a load
    /// test's short interval, below the server's whole seconds).
    pub beat_ms: Option<u64>,
}

impl SimOptions {
    /// No disconnects and no errors but those asked for: a load test's fleet.
    pub fn quiet() -> Self {
        Self {
            disconnects_per_hour: 0.0,
            errors_per_hour: 0.0,
            long_drop_share: 0.0,
            beat_ms: None,
        }
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            disconnects_per_hour: 2.0,
            errors_per_hour: 1.0,
            long_drop_share: 0.3,
            beat_ms: None,
        }
    }
}

/// What the simulated fleet has done so far.
#[derive(Default)]
pub struct SimStats {
    pub connected: AtomicU64,
    pub heartbeats: AtomicU64,
    pub plays: AtomicU64,
    pub reconnects: AtomicU64,
    /// When each display sent its first heartbeat (the load test's clock start).
    pub first_beat: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// When each error asked for by [`SimCommand::Error`] was sent, by display.
    pub errors_sent: std::sync::Mutex<Vec<(String, i64)>>,
}

/// What a load test asks one simulated display to do at once.
#[derive(Debug, Clone, Copy)]
pub enum SimCommand {
    /// Report a player error (its status turns to error).
    Error,
}

/// A running simulated fleet: its figures, and a line to each display.
pub struct SimFleet {
    pub stats: Arc<SimStats>,
    pub commands: std::collections::HashMap<String, mpsc::Sender<SimCommand>>,
}

/// Tokens for `n` simulated displays of the organization: the ones tagged
/// `simulated` first, then new ones ("Simulated 0001", …).
pub async fn enroll(db: &Db, org_id: &str, n: usize) -> Result<Vec<SimDisplay>, String> {
    let rows = sqlx::query(
        "SELECT id FROM devices WHERE org_id = $1 AND tags LIKE $2 ORDER BY name, id LIMIT $3",
    )
    .bind(org_id)
    .bind(format!("%\"{SIM_TAG}\"%"))
    .bind(n as i64)
    .fetch_all(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let mut ids: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    let now = now_ms();
    let start = ids.len();
    for i in start..n {
        let device = Device {
            id: new_id(),
            name: format!("Simulated {:04}", i + 1),
            group_id: None,
            tags: vec![SIM_TAG.to_string()],
            timezone: "UTC".into(),
            status: DeviceStatus::Offline,
            last_seen: None,
            playlist_id: None,
            paired: false,
            version: 1,
        };
        devices::insert(&mut tx, org_id, &device, now)
            .await
            .map_err(|e| e.to_string())?;
        ids.push(device.id);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let token = new_device_token();
        sqlx::query("UPDATE devices SET token_hash = $1 WHERE id = $2")
            .bind(sha256_hex(&token))
            .bind(&id)
            .execute(&mut **tx)
            .await
            .map_err(|e| e.to_string())?;
        out.push(SimDisplay {
            device_id: id,
            token,
        });
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(out)
}

/// Starts one task per display against `server` (`http://host:port`).
pub fn spawn(server: &str, displays: Vec<SimDisplay>, opts: SimOptions) -> Arc<SimStats> {
    spawn_fleet(server, displays, opts, Duration::from_millis(3_000)).stats
}

/// `spawn`, with the fleet's first connections spread over `spread`, and a
/// command line to every display.
pub fn spawn_fleet(
    server: &str,
    displays: Vec<SimDisplay>,
    opts: SimOptions,
    spread: Duration,
) -> SimFleet {
    let stats = Arc::new(SimStats::default());
    let mut commands = std::collections::HashMap::with_capacity(displays.len());
    let url = format!(
        "{}/device/ws",
        server
            .trim_end_matches('/')
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    );
    let spread_ms = spread.as_millis().max(1) as u64;
    for (i, d) in displays.into_iter().enumerate() {
        let url = url.clone();
        let stats = stats.clone();
        let (command_tx, mut command_rx) = mpsc::channel(4);
        commands.insert(d.device_id.clone(), command_tx);
        tokio::spawn(async move {
            let mut rng =
                StdRng::seed_from_u64(now_ms() as u64 ^ (i as u64).wrapping_mul(0x9e37_79b9));
            // Spread the fleet's first connections.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..spread_ms))).await;
            let mut metrics = Drift::new(&mut rng);
            loop {
                let ended = display(
                    &url,
                    &d,
                    opts,
                    &stats,
                    &mut rng,
                    &mut metrics,
                    &mut command_rx,
                )
                .await;
                match ended {
                    Ended::Unpaired => return,
                    Ended::Dropped { long } => {
                        stats.reconnects.fetch_add(1, Ordering::Relaxed);
                        let away = if long {
                            rng.gen_range(40_000..120_000)
                        } else {
                            rng.gen_range(1_000..6_000)
                        };
                        tokio::time::sleep(Duration::from_millis(away)).await;
                    }
                }
            }
        });
    }
    SimFleet { stats, commands }
}

/// What a simulated screen "shows": a 320×180 PNG in a colour of the item's
/// name (dark grey with nothing to play), as a data URL.
fn screenshot(showing: Option<&str>) -> String {
    use base64::Engine;
    let seed = showing.map_or(0u32, |name| {
        name.bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
    });
    let [r, g, b, _] = seed.to_le_bytes();
    let (r, g, b) = if showing.is_some() {
        (r / 2 + 64, g / 2 + 64, b / 2 + 64)
    } else {
        (40, 44, 52)
    };
    let img = image::RgbImage::from_fn(320, 180, |x, y| {
        // A band across the middle, so it reads as a picture, not a swatch.
        if (70..110).contains(&y) && (20..300).contains(&x) {
            image::Rgb([240, 240, 240])
        } else {
            image::Rgb([r, g, b])
        }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    let _ = img.write_to(&mut png, image::ImageFormat::Png);
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    )
}

enum Ended {
    Unpaired,
    Dropped { long: bool },
}

/// Metrics that wander like a real box's.
struct Drift {
    cpu: f64,
    memory: f64,
    temperature: f64,
    storage: f64,
    started: i64,
}

impl Drift {
    fn new(rng: &mut StdRng) -> Self {
        Self {
            cpu: rng.gen_range(5.0..40.0),
            memory: rng.gen_range(20.0..60.0),
            // A few boxes run hot or nearly full, so the demo's alert rules
            // have something to find (and, as they drift, to resolve).
            temperature: if rng.gen_bool(0.08) {
                rng.gen_range(72.0..80.0)
            } else {
                rng.gen_range(38.0..55.0)
            },
            storage: if rng.gen_bool(0.05) {
                rng.gen_range(6.0..14.0)
            } else {
                rng.gen_range(40.0..95.0)
            },
            started: now_ms(),
        }
    }
    fn step(&mut self, rng: &mut StdRng) -> Metrics {
        self.cpu = (self.cpu + rng.gen_range(-6.0..6.0)).clamp(1.0, 100.0);
        self.memory = (self.memory + rng.gen_range(-2.0..2.0)).clamp(5.0, 99.0);
        self.temperature = (self.temperature + rng.gen_range(-0.8..0.85)).clamp(25.0, 95.0);
        self.storage = (self.storage - rng.gen_range(0.0..0.02)).clamp(0.0, 100.0);
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Metrics {
            cpu_pct: Some(round(self.cpu)),
            memory_pct: Some(round(self.memory)),
            temperature_c: Some(round(self.temperature)),
            storage_free_pct: Some(round(self.storage)),
            uptime_s: Some((now_ms() - self.started) / 1000),
            player_version: Some("simulator-1".into()),
        }
    }
}

async fn display(
    url: &str,
    d: &SimDisplay,
    opts: SimOptions,
    stats: &SimStats,
    rng: &mut StdRng,
    metrics: &mut Drift,
    commands: &mut mpsc::Receiver<SimCommand>,
) -> Ended {
    // A display's messages are small: buffers of tungstenite's default size
    // (128 KiB each, allocated up front) took a load test's display process
    // past a gigabyte and much of the machine's time zeroing pages, time a
    // run then charged to the server.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let Ok((socket, _)) =
        tokio_tungstenite::connect_async_with_config(url, Some(config), false).await
    else {
        return Ended::Dropped { long: false };
    };
    let (mut tx, mut rx) = socket.split();
    let hello = DisplayMsg::Hello {
        token: Some(d.token.clone()),
        player_version: "simulator-1".into(),
    };
    if tx.send(text(&hello)).await.is_err() {
        return Ended::Dropped { long: false };
    }
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let ended = session(
        (&mut tx, &mut rx),
        &d.device_id,
        opts,
        stats,
        rng,
        metrics,
        commands,
    )
    .await;
    stats.connected.fetch_sub(1, Ordering::Relaxed);
    let _ = tx.close().await;
    ended
}

fn text(msg: &DisplayMsg) -> Message {
    Message::text(serde_json::to_string(msg).unwrap_or_default())
}

async fn session<S, R>(
    (tx, rx): (&mut S, &mut R),
    device_id: &str,
    opts: SimOptions,
    stats: &SimStats,
    rng: &mut StdRng,
    metrics: &mut Drift,
    commands: &mut mpsc::Receiver<SimCommand>,
) -> Ended
where
    S: futures::Sink<Message> + Unpin,
    R: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut interval = Duration::from_millis(opts.beat_ms.unwrap_or(10_000));
    let mut manifest = Manifest::default();
    // What the timeline put on air, as the browser player keeps it.
    let mut on_air: Option<crate::player::OnAir> = None;
    let mut slot = 0usize;
    let mut beat = tokio::time::interval(interval);
    let mut next_play = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut seq = 0u64;
    loop {
        tokio::select! {
            msg = rx.next() => {
                let Some(Ok(Message::Text(t))) = msg else {
                    match msg {
                        Some(Ok(_)) => continue,
                        _ => return Ended::Dropped { long: false },
                    }
                };
                match serde_json::from_str::<ServerMsg>(&t) {
                    Ok(ServerMsg::Welcome { heartbeat_seconds, .. }) => {
                        interval = opts.beat_ms.map_or(
                            Duration::from_secs(heartbeat_seconds.max(1)),
                            Duration::from_millis,
                        );
                        beat = tokio::time::interval(interval);
                    }
                    Ok(ServerMsg::Manifest(m)) => {
                        let ack = DisplayMsg::ManifestReceived { version: m.version.clone() };
                        manifest = m;
                        slot = 0;
                        if !manifest.version.is_empty() && tx.send(text(&ack)).await.is_err() {
                            return Ended::Dropped { long: false };
                        }
                    }
                    Ok(ServerMsg::Unpaired { .. }) => return Ended::Unpaired,
                    Ok(ServerMsg::Command { id, command: crate::model::DisplayCommand::Screenshot }) => {
                        let showing = manifest.items.get(slot % manifest.items.len().max(1));
                        let shot = DisplayMsg::Screenshot {
                            command_id: id,
                            image: screenshot(showing.map(|i| i.name.as_str())),
                        };
                        if tx.send(text(&shot)).await.is_err() {
                            return Ended::Dropped { long: false };
                        }
                    }
                    _ => {}
                }
            }
            Some(SimCommand::Error) = commands.recv() => {
                let err = DisplayMsg::Error { id: new_id(), at: now_ms(), message: "Simulated decoder hiccup".into() };
                if tx.send(text(&err)).await.is_err() {
                    return Ended::Dropped { long: false };
                }
                stats.errors_sent.lock().unwrap().push((device_id.to_string(), now_ms()));
            }
            _ = beat.tick() => {
                seq += 1;
                let playing = manifest.items.get(slot % manifest.items.len().max(1)).map(|i| i.content_id.clone());
                let hb = DisplayMsg::Heartbeat { seq, at: now_ms(), metrics: metrics.step(rng), playing };
                if tx.send(text(&hb)).await.is_err() {
                    return Ended::Dropped { long: false };
                }
                stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                if seq == 1 {
                    stats.first_beat.lock().unwrap().entry(device_id.to_string()).or_insert_with(now_ms);
                }
                let per_beat = interval.as_secs_f64() / 3600.0;
                if rng.gen_bool((opts.errors_per_hour * per_beat).clamp(0.0, 1.0)) {
                    let err = DisplayMsg::Error { id: new_id(), at: now_ms(), message: "Simulated decoder hiccup".into() };
                    let _ = tx.send(text(&err)).await;
                }
                if rng.gen_bool((opts.disconnects_per_hour * per_beat).clamp(0.0, 1.0)) {
                    return Ended::Dropped { long: rng.gen_bool(opts.long_drop_share.clamp(0.0, 1.0)) };
                }
            }
            _ = tokio::time::sleep_until(next_play) => {
                // The timeline by this display's clock, as a real player follows it.
                let now = now_ms();
                let playing = manifest.playing_at(now);
                let items = playing.items.to_vec();
                let playlist_id = playing.playlist_id.map(str::to_string);
                let due = crate::player::OnAir::of(&manifest, now);
                if let (Some(source), true) = (due.source, on_air.as_ref() != Some(&due)) {
                    let switched = DisplayMsg::Switched {
                        id: new_id(),
                        at: now,
                        playlist_id: due.playlist_id.clone(),
                        source,
                        schedule_id: due.schedule_id.clone(),
                        takeover_id: due.takeover_id.clone(),
                        previous_playlist_id: on_air.take().and_then(|a| a.playlist_id),
                    };
                    on_air = Some(due);
                    if tx.send(text(&switched)).await.is_err() {
                        return Ended::Dropped { long: false };
                    }
                }
                let item = (!items.is_empty()).then(|| items[slot % items.len()].clone());
                let wait = match item {
                    Some(item) => {
                        let played = DisplayMsg::Played {
                            id: new_id(),
                            content_id: item.content_id.clone(),
                            playlist_id: playlist_id.clone(),
                            started_at: now_ms() - item.duration_ms,
                            duration_ms: item.duration_ms,
                        };
                        if tx.send(text(&played)).await.is_err() {
                            return Ended::Dropped { long: false };
                        }
                        stats.plays.fetch_add(1, Ordering::Relaxed);
                        slot += 1;
                        items[slot % items.len()].duration_ms.max(1_000)
                    }
                    None => 5_000,
                };
                next_play = tokio::time::Instant::now() + Duration::from_millis(wait as u64);
            }
        }
    }
}
