//! `tavolo-server`: parses options, sets up logging, binds, and runs.

use anyhow::Context;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use tavolo_server::storage::{self, Storage};
use tavolo_server::{AppState, ensure_demo_session, run};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Tavolo: a real-time collaborative board for facilitated participatory sessions.
#[derive(Debug, Parser)]
#[command(name = "tavolo-server", version)]
struct Options {
    /// Address to listen on.
    #[arg(long, env = "TAVOLO_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory for the SQLite database.
    #[arg(long, env = "TAVOLO_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// A PostgreSQL database to use instead of SQLite in the data
    /// directory: `postgres://user:password@host:port/database` (several
    /// server nodes can share one).
    #[arg(long, env = "TAVOLO_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// With PostgreSQL, this node's name among the nodes sharing the
    /// database, the same across restarts so that a restarted node takes
    /// its sessions back at once (default: the host name and the port of
    /// --addr; nodes on one host need different ports or names).
    #[arg(long, env = "TAVOLO_NODE_ID")]
    node_id: Option<String>,
    /// With PostgreSQL, how the other nodes reach this one directly, e.g.
    /// `http://node1:8080` (default: `http://` and the address listened on,
    /// when it is not a wildcard).
    #[arg(long, env = "TAVOLO_ADVERTISE_URL")]
    advertise_url: Option<String>,
    /// How long a node's lease on a session lasts without renewal, in
    /// milliseconds: after a node dies, its sessions move to another node
    /// this long after its last renewal.
    #[arg(long, env = "TAVOLO_LEASE_MS", default_value_t = 10_000, hide = true)]
    lease_ms: u64,
    /// Directory of the built web app.
    #[arg(long, env = "TAVOLO_WEB_DIR", default_value = "./web/dist")]
    web_dir: PathBuf,
    /// Create (once per data directory) a demo session from the built-in
    /// template and print its join code, facilitator and projector links.
    #[arg(long, env = "TAVOLO_DEMO")]
    demo: bool,
    /// Origins (besides the server's own) whose pages may use this server,
    /// e.g. `https://tavolo.example` behind a proxy; comma-separated in the
    /// environment.
    #[arg(
        long = "allowed-origin",
        env = "TAVOLO_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,
    /// Proxies (addresses or networks, e.g. `127.0.0.1,10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client, for rate limits and the access
    /// log; comma-separated in the environment. Without it, the address a
    /// connection comes from is the client's.
    #[arg(
        long = "trusted-proxies",
        env = "TAVOLO_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// Log lines as `text` (for people) or `json` (one object per line, for
    /// log collectors). `RUST_LOG` picks what is logged; the access log is
    /// the target `tavolo::access`.
    #[arg(long, env = "TAVOLO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Turn off the per-IP rate limits (load tests; or when a proxy in front
    /// applies its own).
    #[arg(long, env = "TAVOLO_NO_RATE_LIMITS")]
    no_rate_limits: bool,
    /// Connection timeouts in milliseconds, `PING,DEAD,SEND` (tests of
    /// half-open and slow peers; the defaults are 20000,45000,10000).
    #[arg(long, hide = true, value_delimiter = ',')]
    timeouts_ms: Vec<u64>,
    /// Seconds a document nobody has open stays loaded before it is
    /// closed (it is read again on its next use; a board repaired in the
    /// database is then served without a restart).
    #[arg(long, env = "TAVOLO_IDLE_SECS", default_value_t = 600)]
    idle_secs: u64,
    /// The secret that `POST /api/sessions/import` asks for (as
    /// `Authorization: Bearer …`). Without it, importing is off: an import
    /// writes a whole session, and only the server's operator may do that.
    #[arg(long, env = "TAVOLO_IMPORT_TOKEN", hide_env_values = true)]
    import_token: Option<String>,
    /// Print `TAVOLO_LISTENING <url>` on stdout once bound (for programs
    /// that start the server on port 0).
    #[arg(long, hide = true)]
    announce: bool,
    /// Without a command, the server runs.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copies the SQLite database of --data-dir to a file, while the server
    /// runs: every change acknowledged before the backup began is in it.
    Backup {
        /// Where to write the backup (one self-contained SQLite file).
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Puts a backup in place as the database of --data-dir. Stop the
    /// server first.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Restore over an existing database, keeping it aside renamed.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `backup` or `restore` and says what it did.
#[allow(clippy::print_stdout)]
fn run_command(command: Command, data_dir: &std::path::Path) -> anyhow::Result<()> {
    use tavolo_server::backup;
    let (verb, summary) = match command {
        Command::Backup { out, force } => {
            ("backup written", backup::backup(data_dir, &out, force)?)
        }
        Command::Restore { from, force } => ("restored", backup::restore(data_dir, &from, force)?),
    };
    println!(
        "{verb}: {} ({} bytes, {} sessions) in {} ms",
        summary.path.display(),
        summary.bytes,
        summary.sessions,
        summary.took.as_millis()
    );
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut options = Options::parse();
    if let Some(command) = options.command.take() {
        if options.database_url.is_some() {
            anyhow::bail!(
                "backup and restore copy the SQLite database; for PostgreSQL use pg_dump and pg_restore (docs/deploy/README.md)"
            );
        }
        return run_command(command, &options.data_dir);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // When stderr is a file on a full disk, a failed log write must not
        // become a panic (tracing-subscriber reports it with `eprintln!`,
        // which panics) in the storage writer or a document actor.
        .log_internal_errors(false);
    match options.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let trusted_proxies = tavolo_server::clientip::TrustedProxies::parse(&options.trusted_proxies)
        .map_err(anyhow::Error::msg)?;

    survive_file_size_limit();
    let on_postgres = options
        .database_url
        .as_deref()
        .is_some_and(storage::is_postgres_url);
    // Two servers on one SQLite file would each think the other's changes
    // never happened; a restore must not pull the file from under one.
    let _lock = if on_postgres {
        None
    } else {
        Some(tavolo_server::backup::lock_data_dir(&options.data_dir)?)
    };
    let database = match options.database_url.as_deref() {
        Some(url) if storage::is_postgres_url(url) => storage::redact_url(url),
        _ => options
            .data_dir
            .join("tavolo.sqlite3")
            .display()
            .to_string(),
    };
    let storage = Storage::connect(&options.data_dir, options.database_url.as_deref())
        .await
        .with_context(|| format!("opening the database {database}"))?;
    let listener = TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("binding {}", options.addr))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    tracing::info!(%addr, %database, "tavolo listening");

    #[allow(clippy::print_stdout)]
    if options.announce {
        println!("TAVOLO_LISTENING {base}");
    }
    if options.demo {
        let demo = ensure_demo_session(&storage)
            .await
            .context("creating the demo session")?;
        #[allow(clippy::print_stdout)]
        {
            println!();
            println!("  Tavolo is running at {base}/");
            println!("  Demo session: {}", demo.title);
            println!(
                "  Participants join at {base}/j/{}  (join code {})",
                demo.join_code, demo.join_code
            );
            println!(
                "  Facilitator link:    {base}/f/{}#{}",
                demo.session_id, demo.facilitator_key
            );
            // The projector gets a read-only ticket of its own, never the key.
            if let Ok((viewer, _, _)) = tavolo_server::sessions::viewer_ticket(
                &storage,
                &demo.session_id,
                tavolo_server::sessions::FacilitatorProof::Key(&demo.facilitator_key),
            )
            .await
            {
                println!(
                    "  Projector link:      {base}/p/{}#v={viewer}",
                    demo.session_id
                );
            }
            println!();
        }
    }

    if !options.web_dir.join("index.html").exists() {
        tracing::warn!(web_dir = %options.web_dir.display(), "the web app is not built; pages will say so");
    }
    let access = tavolo_server::access::Access::new(
        options.allowed_origins.clone(),
        !options.no_rate_limits,
    )
    .with_trusted_proxies(trusted_proxies);
    let mut timeouts = tavolo_server::connection::Timeouts::default();
    if let [ping, dead, send] = options.timeouts_ms[..] {
        timeouts.ping = std::time::Duration::from_millis(ping);
        timeouts.dead = std::time::Duration::from_millis(dead);
        timeouts.send = std::time::Duration::from_millis(send);
    }
    timeouts.idle = std::time::Duration::from_secs(options.idle_secs.max(1));
    let ownership = if on_postgres {
        let url = match &options.advertise_url {
            Some(u) => u.clone(),
            None if !addr.ip().is_unspecified() => base.clone(),
            None => anyhow::bail!(
                "with PostgreSQL and a wildcard address, say how the other nodes reach this one: --advertise-url http://HOST:PORT"
            ),
        };
        let node = options.node_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "node".into());
            format!("{host}:{}", options.addr.port())
        });
        let ttl = std::time::Duration::from_millis(options.lease_ms.max(300));
        tracing::info!(%node, %url, lease_ms = ttl.as_millis() as u64, "serving sessions whose lease this node holds");
        storage.ownership(&node, &url, ttl)
    } else {
        None
    };
    let state = AppState::build(
        storage,
        options.web_dir.clone(),
        access,
        timeouts,
        ownership,
        options.import_token.as_deref().filter(|t| !t.is_empty()),
    );
    run(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// A write past the file size limit (`RLIMIT_FSIZE`) raises SIGXFSZ, which
/// kills the process by default. Caught, the write fails with `EFBIG`
/// instead, and SQLite reports an I/O error that storage retries like a
/// full disk.
fn survive_file_size_limit() {
    #[cfg(target_os = "linux")]
    {
        // SIGXFSZ is 25 on the Linux architectures Tavolo is built for
        // (x86_64, aarch64); tokio has no name for it.
        const SIGXFSZ: i32 = 25;
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::from_raw(SIGXFSZ)) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        tracing::debug!("a write went past the file size limit");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot catch SIGXFSZ"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
