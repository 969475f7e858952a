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
    #[arg(long, env = "TAVOLO_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// A PostgreSQL database to use instead of SQLite in the data
    /// directory: `postgres://user:password@host:port/database` (several
    /// server nodes can share one).
    #[arg(long, env = "TAVOLO_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
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
    /// Print `TAVOLO_LISTENING <url>` on stdout once bound (for programs
    /// that start the server on port 0).
    #[arg(long, hide = true)]
    announce: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // When stderr is a file on a full disk, a failed log write must not
        // become a panic (tracing-subscriber reports it with `eprintln!`,
        // which panics) in the storage writer or a document actor.
        .log_internal_errors(false)
        .init();

    survive_file_size_limit();
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
    );
    let mut timeouts = tavolo_server::connection::Timeouts::default();
    if let [ping, dead, send] = options.timeouts_ms[..] {
        timeouts.ping = std::time::Duration::from_millis(ping);
        timeouts.dead = std::time::Duration::from_millis(dead);
        timeouts.send = std::time::Duration::from_millis(send);
    }
    timeouts.idle = std::time::Duration::from_secs(options.idle_secs.max(1));
    let state = AppState::with_options(storage, options.web_dir.clone(), access, timeouts);
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
