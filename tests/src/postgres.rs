//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port (its socket in that
//! directory too), one fresh database per test.
//!
//! The binaries come from `TAVOLO_PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package). When they
//! are missing, starting a cluster fails with a message that says so: a
//! test that needs PostgreSQL fails, it never skips. `initdb` refuses to
//! run as root, so as root the cluster runs as the `postgres` user.
//!
//! A cluster stops and its directory is removed when it is dropped, and
//! also when the test process ends however it ends (even SIGKILL): a small
//! watchdog shell waits for its stdin, a pipe only this process holds, to
//! close. [`PostgresCluster::shared`] is one cluster for the whole test
//! process, which is never dropped and relies on that.

use anyhow::{Context, Result, anyhow, bail};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running PostgreSQL cluster on `127.0.0.1:port`, trust authentication,
/// superuser `postgres`.
#[derive(Debug)]
pub struct PostgresCluster {
    bin: PathBuf,
    /// Holds `data/`, the socket and `log`; removed when the cluster stops.
    root: PathBuf,
    port: u16,
    /// `Some("postgres")` when this process is root.
    run_as: Option<&'static str>,
    /// Closing its stdin stops the cluster and removes `root`.
    watchdog: Option<(Child, ChildStdin)>,
    next_db: AtomicU32,
}

impl PostgresCluster {
    /// One cluster for every test of this process, started on first use.
    /// Panics (failing the test) with the reason when it cannot start.
    pub fn shared() -> &'static PostgresCluster {
        static SHARED: OnceLock<Result<PostgresCluster, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|e| format!("{e:#}"))) {
            Ok(cluster) => cluster,
            Err(e) => panic!("this test needs PostgreSQL: {e}"),
        }
    }

    /// Starts a new cluster of its own (for tests that stop or crash it).
    pub fn start() -> Result<Self> {
        let bin = find_bin_dir()?;
        let run_as = if is_root()? { Some("postgres") } else { None };
        let root = tempfile::Builder::new()
            .prefix("tavolo-pg-")
            .tempdir()
            .context("creating the cluster's directory")?
            .keep();
        let mut cluster = Self {
            bin,
            root,
            port: 0,
            run_as,
            watchdog: None,
            next_db: AtomicU32::new(0),
        };
        // From here on, dropping `cluster` removes the directory.
        cluster.spawn_watchdog()?;
        if let Some(user) = run_as {
            run(Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&cluster.root))
            .context("giving the cluster's directory to the postgres user")?;
        }
        let data = cluster.data_dir();
        let mut initdb = cluster.command("initdb");
        initdb.args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ]);
        initdb.arg(&data);
        run(&mut initdb).context("initdb failed")?;
        let mut last = None;
        for _ in 0..3 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                // Another process may have taken the port in between.
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("unreachable")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` (`postgres` always exists).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self) -> Result<String> {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("tavolo_{}_{n}", std::process::id());
        run(Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(&name))
        .with_context(|| format!("createdb {name}"))?;
        Ok(self.url(&name))
    }

    /// Runs SQL with `psql` on the database at `url`; returns its
    /// unaligned, tuples-only output (`|` between columns).
    pub fn psql(&self, url: &str, sql: &str) -> Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", url, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Stops the cluster the way a crash or power cut would (`pg_ctl stop
    /// -m immediate`: no checkpoint, recovery from the WAL at next start).
    pub fn crash(&self) -> Result<()> {
        let mut stop = self.command("pg_ctl");
        stop.args(["-m", "immediate", "-w", "stop", "-D"])
            .arg(self.data_dir());
        run(&mut stop).context("pg_ctl stop -m immediate")
    }

    /// Starts the cluster again on the same port after [`Self::crash`].
    pub fn restart(&self) -> Result<()> {
        self.pg_ctl_start()
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let log = self.root.join("log");
        let mut start = self.command("pg_ctl");
        start
            .args(["-w", "-t", "60", "-l"])
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=300",
                self.port,
                self.root.display()
            ))
            .arg("-D")
            .arg(self.data_dir())
            .arg("start");
        run(&mut start).with_context(|| {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            format!(
                "pg_ctl start on port {} failed; server log:\n{}",
                self.port,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
    }

    /// A command running one of the cluster's binaries as its owner.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        // pg_ctl and initdb resolve relative paths from here; root's home
        // or a test's directory may not be readable by `postgres`.
        cmd.current_dir(&self.root).stdin(Stdio::null());
        cmd
    }

    /// A shell that waits for its stdin to close (this process dropped the
    /// cluster, or ended), then stops PostgreSQL and removes the directory.
    /// It ignores the signals a terminal sends to the whole process group,
    /// so a Ctrl-C on the tests still cleans up.
    fn spawn_watchdog(&mut self) -> Result<()> {
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
        let pg_ctl = quote(&self.bin.join("pg_ctl"));
        let as_owner = match self.run_as {
            Some(user) => format!("runuser -u {user} -- "),
            None => String::new(),
        };
        let script = format!(
            "trap '' INT HUP TERM; cat >/dev/null; \
             if [ -f {data}/postmaster.pid ]; then cd {root} && {as_owner}{pg_ctl} -D {data} -m immediate -w stop >/dev/null 2>&1; fi; \
             rm -rf {root}",
            data = quote(&self.data_dir()),
            root = quote(&self.root),
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the cluster's watchdog (sh)")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        self.watchdog = Some((child, stdin));
        Ok(())
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        if let Some((mut child, mut stdin)) = self.watchdog.take() {
            let _ = stdin.flush();
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Runs a command to completion; its output goes into the error.
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} exited with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn is_root() -> Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("running id -u")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where `initdb`, `pg_ctl`, `postgres`, `createdb` and `psql` are.
fn find_bin_dir() -> Result<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres", "createdb", "psql"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Ok(dir) = std::env::var("TAVOLO_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_all(&dir) {
            return Ok(dir);
        }
        bail!(
            "TAVOLO_PG_BIN={} does not hold initdb, pg_ctl, postgres, createdb and psql",
            dir.display()
        );
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow!(
            "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found in \
             /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) \
             or set TAVOLO_PG_BIN to the directory that holds them"
        )
    })
}
