//! The command line: `vizora serve | migrate | user add | token add`.

use std::{io::BufRead, net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use super::{
    auth::{passwords::create_user, tokens},
    core::{db::default_url, CurrentUser, Db},
    orgs,
    tools::{loadtest, simulator},
};
use crate::model::Role;

#[derive(Parser, Debug)]
#[command(
    name = "vizora",
    version,
    about = "Vizora: a real-time console for fleets of digital-signage displays"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Where the SQLite database and media live.
    #[arg(long, env = "VIZORA_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// sqlite://PATH or postgres://USER@HOST/DB; default sqlite://DATA_DIR/vizora.db.
    #[arg(long, env = "VIZORA_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The settings file ([site] and [vizora] sections).
    #[arg(
        long,
        env = "VIZORA_CONFIG",
        default_value = "Leptos.toml",
        global = true
    )]
    pub config: PathBuf,
}

impl GlobalArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| default_url(&self.data_dir))
    }
    pub async fn open_db(&self) -> Result<Db, String> {
        let db = Db::connect(&self.database_url()).await?;
        db.migrate().await?;
        Ok(db)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console, the API and the stream (migrates first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Run simulated displays over the real device protocol against a server.
    /// Enrolls them in the database given by --data-dir / --database-url.
    Simulate(SimulateArgs),
    /// Start a server on a fresh database, connect N simulated displays (in
    /// processes of their own) and M operator streams, and print the connect
    /// storm's and a quiet fleet's status latency, heartbeats per second and
    /// the server's memory per display connection.
    Loadtest {
        #[arg(long, default_value_t = 1000)]
        displays: usize,
        #[arg(long, default_value_t = 10)]
        operators: usize,
        #[arg(long, default_value_t = 3199)]
        port: u16,
        /// The interval the server asks displays to beat at.
        #[arg(long, default_value_t = 10)]
        heartbeat_seconds: u64,
        /// Displays beat this often instead (milliseconds), to load ingest.
        #[arg(long)]
        beat_ms: Option<u64>,
        /// Processes the simulated displays are spread over.
        #[arg(long, default_value_t = 2)]
        processes: usize,
        /// Single status changes timed once the fleet is quiet.
        #[arg(long, default_value_t = 50)]
        quiet_samples: usize,
        /// The storm's first connections are spread over this many milliseconds.
        #[arg(long, default_value_t = 3000)]
        spread_ms: u64,
        /// Write the server's /metrics before and after the load here
        /// (before.prom, after.prom).
        #[arg(long)]
        metrics_dir: Option<std::path::PathBuf>,
    },
    /// One process's share of a load test's displays (run by `loadtest`).
    #[command(hide = true)]
    LoadtestDisplays {
        #[arg(long)]
        server: String,
        #[arg(long)]
        tokens: std::path::PathBuf,
        #[arg(long)]
        beat_ms: Option<u64>,
        #[arg(long, default_value_t = 3000)]
        spread_ms: u64,
    },
    /// Time the schedule rule for a synthetic fleet (no database, no server).
    TimelineBench {
        #[arg(long, default_value_t = 10_000)]
        displays: usize,
        #[arg(long, default_value_t = 500)]
        schedules: usize,
        #[arg(long, default_value_t = 100)]
        groups: usize,
        #[arg(long, default_value_t = 48)]
        hours: i64,
    },
    /// Encode the demo's videos into DIR (only with the demo-encoder feature).
    #[cfg(feature = "demo-encoder")]
    DemoVideos {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Load a year of proof of play into a fresh database and time the
    /// reports, the Analytics page and ingest under read load.
    AnalyticsBench {
        #[arg(long, default_value_t = 10_000_000)]
        plays: u64,
        #[arg(long, default_value_t = 1000)]
        displays: usize,
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value_t = 3198)]
        port: u16,
        /// Keep the database afterwards (its path is printed), to look
        /// into a query with `sqlite3`.
        #[arg(long)]
        keep: bool,
    },
    /// Manage operator accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for integrators.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make an API token and print its secret (shown only now) on stdout.
    Add {
        /// What the token is for, as the Settings page lists it.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "editor", value_parser = parse_role)]
        role: Role,
        /// The admin it is made on behalf of; default the organization's first admin.
        #[arg(long)]
        email: Option<String>,
        /// Organization name; default the first organization.
        #[arg(long, env = "VIZORA_ORG")]
        org: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; overrides Leptos.toml's [site] addr.
    #[arg(long, env = "VIZORA_BIND")]
    pub bind: Option<SocketAddr>,
    /// On an empty database, also load a demo fleet of 60 displays.
    #[arg(long, env = "VIZORA_DEMO")]
    pub demo: bool,
    /// How many displays the demo fleet has. Past 60 the rest are plain
    /// displays without a history, for trying the console on a big fleet.
    #[arg(long, env = "VIZORA_DEMO_DISPLAYS", default_value_t = 60)]
    pub demo_displays: usize,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// How many displays: the ones tagged `simulated` first, then new ones.
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// The server to connect to.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// Organization name; default the first organization.
    #[arg(long, env = "VIZORA_ORG")]
    pub org: Option<String>,
    /// Drops per display per hour (some long enough to show offline).
    #[arg(long, default_value_t = 2.0)]
    pub disconnects_per_hour: f64,
    /// Player errors per display per hour.
    #[arg(long, default_value_t = 1.0)]
    pub errors_per_hour: f64,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add an operator. The password is read from the first line of stdin.
    Add {
        email: String,
        #[arg(long, default_value = "editor", value_parser = parse_role)]
        role: Role,
        /// Organization name; default the first organization.
        #[arg(long, env = "VIZORA_ORG")]
        org: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            super::serve(super::Serve {
                config: cli.global.config.clone(),
                data_dir: cli.global.data_dir.clone(),
                database_url: cli.global.database_url(),
                bind: args.bind,
                demo: args.demo.then_some(args.demo_displays),
            })
            .await
        }
        Command::Simulate(args) => simulate(&cli.global, args).await,
        Command::Loadtest {
            displays,
            operators,
            port,
            heartbeat_seconds,
            beat_ms,
            processes,
            quiet_samples,
            spread_ms,
            metrics_dir,
        } => {
            loadtest::run(loadtest::LoadArgs {
                displays,
                operators,
                port,
                heartbeat_seconds,
                beat_ms,
                processes,
                quiet_samples,
                spread_ms,
                metrics_dir,
            })
            .await
        }
        Command::LoadtestDisplays {
            server,
            tokens,
            beat_ms,
            spread_ms,
        } => loadtest::displays(&server, &tokens, beat_ms, spread_ms).await,
        Command::TimelineBench {
            displays,
            schedules,
            groups,
            hours,
        } => super::tools::timeline_bench::run(super::tools::timeline_bench::BenchArgs {
            displays,
            schedules,
            groups,
            hours,
        }),
        #[cfg(feature = "demo-encoder")]
        Command::DemoVideos { out } => super::tools::demo_video::write_all(&out),
        Command::AnalyticsBench {
            plays,
            displays,
            days,
            port,
            keep,
        } => {
            super::tools::analytics_bench::run(super::tools::analytics_bench::BenchArgs {
                plays,
                displays,
                days,
                port,
                keep,
            })
            .await
        }
        Command::Migrate => cli.global.open_db().await.map(|_| {
            println!("migrations applied to {}", cli.global.database_url());
        }),
        Command::User {
            command: UserCommand::Add { email, role, org },
        } => add_user(&cli.global, &email, role, org.as_deref()).await,
        Command::Token {
            command:
                TokenCommand::Add {
                    name,
                    role,
                    email,
                    org,
                },
        } => add_token(&cli.global, &name, role, email.as_deref(), org.as_deref()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vizora: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn simulate(global: &GlobalArgs, args: SimulateArgs) -> Result<(), String> {
    let db = global.open_db().await?;
    let (org_id, org_name) = orgs::find(&db, args.org.as_deref()).await?;
    let displays = simulator::enroll(&db, &org_id, args.devices).await?;
    println!(
        "simulating {} displays of {org_name} against {}",
        displays.len(),
        args.server
    );
    let opts = simulator::SimOptions {
        disconnects_per_hour: args.disconnects_per_hour,
        errors_per_hour: args.errors_per_hour,
        ..Default::default()
    };
    let stats = simulator::spawn(&args.server, displays, opts);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                use std::sync::atomic::Ordering::Relaxed;
                println!(
                    "connected {:>6}  heartbeats {:>9}  plays {:>8}  reconnects {:>6}",
                    stats.connected.load(Relaxed),
                    stats.heartbeats.load(Relaxed),
                    stats.plays.load(Relaxed),
                    stats.reconnects.load(Relaxed)
                );
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn add_user(
    global: &GlobalArgs,
    email: &str,
    role: Role,
    org: Option<&str>,
) -> Result<(), String> {
    let db = global.open_db().await?;
    let (org_id, org_name) = orgs::find(&db, org).await?;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("Password for {email} (input is shown): ");
    }
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']);
    create_user(&db, &org_id, email, password, role).await?;
    println!(
        "added {} as {role} in {org_name}",
        email.trim().to_lowercase()
    );
    Ok(())
}

async fn add_token(
    global: &GlobalArgs,
    name: &str,
    role: Role,
    email: Option<&str>,
    org: Option<&str>,
) -> Result<(), String> {
    let db = global.open_db().await?;
    let (org_id, org_name) = orgs::find(&db, org).await?;
    let admin: Option<(String, String)> = match email {
        Some(email) => sqlx::query_as(
            "SELECT id, email FROM users WHERE org_id = $1 AND email = $2 AND role = 'admin'",
        )
        .bind(&org_id)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&db.pool)
        .await,
        None => sqlx::query_as(
            "SELECT id, email FROM users WHERE org_id = $1 AND role = 'admin' AND deactivated_at IS NULL ORDER BY created_at, id LIMIT 1",
        )
        .bind(&org_id)
        .fetch_optional(&db.pool)
        .await,
    }
    .map_err(|e| e.to_string())?;
    let (user_id, email) = admin.ok_or_else(|| match email {
        Some(email) => format!("{email} is not an admin of {org_name}"),
        None => format!("{org_name} has no admin yet"),
    })?;
    // The token belongs to the organization, not to the admin named: it is
    // made by whoever runs the server, and only revoking it ends it (an
    // account's deactivation revokes the tokens that account made).
    let _ = user_id;
    let admin = CurrentUser {
        user_id: "cli".into(),
        org_id,
        org_name,
        email,
        role: Role::Admin,
        credential: crate::server::core::credential::Credential::Internal,
    };
    let made = tokens::create(&db, &admin, name, role)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", made.secret);
    Ok(())
}
