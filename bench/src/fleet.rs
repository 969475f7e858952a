//! `fleet`: one session with many clients over real sockets (issue 15).
//!
//! *Thin* clients — one WebSocket each, the automerge-repo `join`
//! handshake with a participant's ticket, then a `request` for the session
//! document and for the first question — keep no document. On every `sync`
//! they decode the automerge sync message, read the commit message of
//! every change in it (`Change::from_bytes`), time the changes the load
//! generator tagged, and answer with an acknowledgement of the server's
//! heads (`fanout::thin_ack`) unless they already acknowledged those heads.
//! They all run on one `current_thread` runtime on a thread of their own,
//! whose CPU is reported.
//!
//! A few *full* clients (`SyncClient`, on the main `current_thread`
//! runtime; facilitator tickets unless `--participant-writers`) write the
//! load. Each change they make carries the commit message
//! `fl:<seq>:<scheduled µs>:<writer>` (`commit_with` inside
//! `SyncClient::change`; the core's own commit then has nothing left to
//! commit), where the time is when the change was *scheduled*, not when it
//! went out: a writer that falls behind shows up as latency (no coordinated
//! omission). Full clients time the other writers' changes too.
//!
//! Every scenario starts its own release server (`--no-rate-limits`) and
//! lays a real board on the first question before anyone arrives:
//! `--board-notes` notes in 40 groups, each moved `--board-edits` times
//! (`fanout::board_step`, 12,040 changes for 1,000 notes), written by a
//! facilitator's `SyncClient` on the server's own copy of the question, in
//! batches of 1,000 changes (the guard takes at most 2,000 per message).
//!
//! The same load, from the same clients, can be run against the stock
//! automerge-repo sync server (`--servers automerge-repo`: Node,
//! `bench/stock/server.mjs`) and against a plain relay (`--servers relay`:
//! `relay.rs`, the floor of CPU per delivery); those are given the same
//! board, built here and synced to them by one client.
//!
//! Tavolo's change → durable latency (a client's message reaching the
//! server → the group commit holding its changes) is read from the
//! server's `/metrics` before and after each window (the "→ disk" column,
//! bucket bounds). `documents` restarts the server over the stored board
//! and reports what opening it costs in RSS.
//!
//! One markdown table row per scenario (or ramp step) goes to stdout; the
//! details to stderr; with `--report DIR`, the rows and a plot of the ramp
//! go to files.
//!
//!     cargo run --release -p tavolo-bench -- fleet --smoke
//!     cargo run --release -p tavolo-bench -- fleet --scenario brainstorm --clients 500
//!     cargo run --release -p tavolo-bench -- fleet --scenario all \
//!         --servers tavolo,automerge-repo,relay --seconds 20 --report bench/results

use crate::fanout;

mod report;
use crate::{micros, percentile, proc_cpu_seconds};
use anyhow::{Context, Result, anyhow, bail};
use automerge::sync::{self, SyncDoc};
use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, Automerge, Change, ChangeHash, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_sync::wire::{DocMessage, PeerMetadata};
use tavolo_sync::{DocumentId, Message, PROTOCOL_V1, PeerId};
use tavolo_tests::{Api, ServerProcess, Session, SyncClient, Ticket, question_docs};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Participants one session takes (`server::sessions::MAX_PARTICIPANTS`);
/// thin clients beyond it connect with projector (read-only) tickets.
const MAX_PARTICIPANTS: usize = 1_000;
/// Changes per message while laying the board (the guard's limit is 2,000).
const BOARD_BATCH: usize = 1_000;
/// Thin clients connecting at once while a scenario sets up.
const CONNECT_WAVE: usize = 100;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// ramp, brainstorm, burst, lock, late, reconnect, idle, documents, or
    /// all (default: brainstorm; with --smoke every one but ramp).
    #[arg(long)]
    scenario: Option<String>,
    /// Thin clients (ramp: see --steps).
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Seconds of load per scenario (per ramp step).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Notes on the board before the clients arrive.
    #[arg(long, default_value_t = 1000)]
    board_notes: usize,
    /// Times each board note was moved between groups (history depth).
    #[arg(long, default_value_t = 11)]
    board_edits: usize,
    /// Full clients writing the notes (the brainstorm load, in aggregate).
    #[arg(long, default_value_t = 3)]
    writers: usize,
    /// Notes per thin client per second (one every 10 s).
    #[arg(long, default_value_t = 0.1)]
    rate: f64,
    /// Seconds to wait for the last deliveries after the writing stops.
    #[arg(long, default_value_t = 5)]
    drain: u64,
    /// Ramp steps (thin clients in one session).
    #[arg(long, value_delimiter = ',', default_value = "50,100,200,500,1000")]
    steps: Vec<usize>,
    /// burst: full clients moving notes between groups…
    #[arg(long, default_value_t = 10)]
    movers: usize,
    /// …this many times a second each.
    #[arg(long, default_value_t = 10.0)]
    move_hz: f64,
    /// late: clients joining the big board while the others brainstorm…
    #[arg(long, default_value_t = 50)]
    joiners: usize,
    /// …arriving this many per second.
    #[arg(long, default_value_t = 10.0)]
    join_rate: f64,
    /// Writers join as participants (the policy's full judgement and its
    /// quotas: 500 notes each per question, 5,000 per question) instead of
    /// as facilitators.
    #[arg(long)]
    participant_writers: bool,
    /// Decode every received change with `Change::from_bytes` (hash and
    /// columns checked; about 15 µs a change here) instead of reading the
    /// commit message from the change's header.
    #[arg(long)]
    decode_changes: bool,
    /// A quick run for CI (about 50 clients, a small board, short steps):
    /// fails unless every scenario completes and the clients converge.
    #[arg(long)]
    smoke: bool,
    /// The servers under load: `tavolo`, or `automerge-repo` — the stock
    /// automerge-repo sync server (`bench/stock/server.mjs`, Node; its
    /// packages installed with `npm ci` there), sent the same load by the
    /// same clients, for a side-by-side measurement.
    /// Several, comma-separated, run one after the other: `tavolo,automerge-repo`.
    #[arg(long, value_delimiter = ',', default_value = "tavolo")]
    servers: Vec<String>,
    /// Set per run from `--servers`.
    #[arg(skip)]
    server: String,
    /// Also write every row to DIR/fleet.md and plot the ramp (p99 and
    /// share missing, per server) to DIR/fleet-ramp.svg.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Only draw the plot again, from the `fleet.md` in `--report DIR`.
    #[arg(long, requires = "report")]
    replot: bool,
}

impl Args {
    fn smoke_sizes(mut self) -> Self {
        self.clients = 50;
        self.seconds = 6;
        self.board_notes = 50;
        self.writers = 3;
        self.drain = 5;
        self.movers = 3;
        self.move_hz = 5.0;
        self.joiners = 5;
        self.scenario.get_or_insert_with(|| "smoke".into());
        self
    }
}

pub fn run(args: Args) -> Result<()> {
    if let (true, Some(dir)) = (args.replot, &args.report) {
        return report::replot(dir);
    }
    let args = if args.smoke { args.smoke_sizes() } else { args };
    let scenarios: Vec<&str> = match args.scenario.as_deref().unwrap_or("brainstorm") {
        "all" => vec![
            "ramp",
            "brainstorm",
            "burst",
            "lock",
            "late",
            "reconnect",
            "idle",
            "documents",
        ],
        "smoke" => vec![
            "brainstorm",
            "burst",
            "lock",
            "late",
            "reconnect",
            "idle",
            "documents",
        ],
        s @ ("ramp" | "brainstorm" | "burst" | "lock" | "late" | "reconnect" | "idle"
        | "documents") => vec![s],
        other => {
            bail!(
                "unknown scenario {other}: ramp, brainstorm, burst, lock, late, reconnect, idle, documents, all"
            )
        }
    };
    let most = args
        .steps
        .iter()
        .copied()
        .chain([args.clients + args.joiners])
        .max()
        .unwrap_or(0);
    check_open_files(most)?;
    DECODE_CHANGES.store(args.decode_changes, Ordering::Relaxed);
    let thin = ThinRuntime::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("{}", Outcome::HEADER);
    let mut failures = Vec::new();
    let mut all = Vec::new();
    rt.block_on(async {
        for server in &args.servers {
            let args = Args {
                server: server.clone(),
                ..args.clone()
            };
            for &s in &scenarios {
                let rows = match s {
                    "ramp" => ramp(&args, &thin).await,
                    "brainstorm" => brainstorm(&args, &thin).await,
                    "burst" => burst(&args, &thin).await,
                    "lock" => lock_phase(&args, &thin).await,
                    "late" => late(&args, &thin).await,
                    "reconnect" => reconnect(&args, &thin).await,
                    "documents" => documents(&args, &thin).await,
                    _ => idle(&args, &thin).await,
                };
                match rows {
                    Ok(rows) => {
                        for mut o in rows {
                            if !o.converged || o.missing > 0 || o.failed_clients > 0 {
                                failures.push(format!("{server} {}: {}", o.scenario, o.problems()));
                            }
                            o.server = server.clone();
                            all.push(o);
                        }
                    }
                    Err(e) => failures.push(format!("{server} {s}: {e:#}")),
                }
            }
        }
    });
    if let Some(dir) = &args.report {
        report::write(dir, &args, &all)?;
    }
    drop(rt);
    drop(thin);
    for f in &failures {
        eprintln!("PROBLEM {f}");
    }
    if args.smoke && !failures.is_empty() {
        bail!("fleet smoke failed: {}", failures.join("; "));
    }
    Ok(())
}

// ---------------------------------------------------------------- scenarios

/// Brainstorm load at `--clients`: one note per client every 10 s, written
/// by the few writers in aggregate.
async fn brainstorm(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let fulls = bed
        .full_clients(args.writers, args.participant_writers)
        .await?;
    let thins = bed.connect_thins(rt, args.clients).await?;
    let load = Load::notes(args.clients as f64 * args.rate, args.seconds as f64);
    let run = bed.begin(fulls, &thins, load, rt).await;
    let (fulls, mut o) = bed.finish(run, &thins, args.drain).await?;
    o.scenario = "brainstorm".into();
    o.print();
    bed.stop(thins, fulls).await;
    Ok(vec![o])
}

/// One session, growing: each step adds thin clients, then brainstorms.
async fn ramp(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let mut fulls = bed
        .full_clients(args.writers, args.participant_writers)
        .await?;
    let mut thins: Vec<Thin> = Vec::new();
    let mut rows = Vec::new();
    for &step in &args.steps {
        if step > thins.len() {
            match bed.connect_thins(rt, step - thins.len()).await {
                Ok(more) => thins.extend(more),
                Err(e) => {
                    // The steps measured so far still count.
                    let o = Outcome {
                        server: bed.served.name().into(),
                        scenario: format!("ramp {step}"),
                        thin: thins.len(),
                        convergence: format!("clients could not connect: {e:#}"),
                        ..Outcome::default()
                    };
                    o.print();
                    rows.push(o);
                    break;
                }
            }
        }
        let load = Load::notes(step as f64 * args.rate, args.seconds as f64);
        let run = bed.begin(fulls, &thins, load, rt).await;
        let (back, mut o) = bed.finish(run, &thins, args.drain).await?;
        fulls = back;
        o.scenario = format!("ramp {step}");
        o.print();
        rows.push(o);
    }
    bed.stop(thins, fulls).await;
    Ok(rows)
}

/// Full clients moving notes between groups, `--move-hz` each.
async fn burst(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    if args.board_notes == 0 {
        bail!("burst moves the board's notes: --board-notes must be at least 1");
    }
    let mut bed = Bed::start(args).await?;
    let fulls = bed
        .full_clients(args.movers, args.participant_writers)
        .await?;
    let thins = bed.connect_thins(rt, args.clients).await?;
    let load = Load {
        kind: Kind::Move {
            notes: args.board_notes,
        },
        per_second: args.movers as f64 * args.move_hz,
        seconds: args.seconds as f64,
    };
    let run = bed.begin(fulls, &thins, load, rt).await;
    let (fulls, mut o) = bed.finish(run, &thins, args.drain).await?;
    o.scenario = format!("burst {}×{} Hz", args.movers, args.move_hz);
    o.print();
    bed.stop(thins, fulls).await;
    Ok(vec![o])
}

/// The facilitator locks the phase halfway through a brainstorm: from the
/// lock's scheduled time until each phone decoded it (from the session
/// document), and — on Tavolo — a participant's note written after the
/// lock must be refused. The brainstorm's writers are facilitators, so
/// their notes go on arriving.
async fn lock_phase(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let fulls = bed.full_clients(args.writers, false).await?;
    let thins = bed.connect_thins(rt, args.clients).await?;
    let sd = bed.docs.session;
    let q = bed.docs.question;
    let fac_ticket = bed.served.facilitator(sd).await?;
    let mut fac = SyncClient::connect(&bed.served.ws_url(Some(&fac_ticket))).await?;
    fac.open(sd).await?;
    fac.pump_until(Duration::from_secs(30), |v| {
        v.doc(sd).length(&automerge::ROOT) > 0
    })
    .await
    .context("the facilitator did not get the session")?;
    // A participant who will try to write once the phase is locked.
    let latecomer = match &bed.served {
        Served::Tavolo { .. } => {
            let t = bed
                .tickets(1)
                .await?
                .pop()
                .context("a participant ticket")?;
            let me = ParticipantId(t.participant_id.clone().context("participant id")?);
            let mut c = SyncClient::connect(&bed.served.ws_url(Some(&t))).await?;
            c.open(q).await?;
            c.pump_until(Duration::from_secs(60), |v| {
                v.doc(q).length(&automerge::ROOT) > 0
            })
            .await
            .context("the participant did not get the board")?;
            Some((c, me))
        }
        _ => None,
    };
    let load = Load::notes(args.clients as f64 * args.rate, args.seconds as f64);
    let run = bed.begin(fulls, &thins, load, rt).await;
    tokio::time::sleep(Duration::from_secs_f64(args.seconds as f64 / 2.0)).await;
    let scheduled = micros();
    for t in &thins {
        lock(&t.stats).lock_from = scheduled;
    }
    let tavolo = matches!(bed.served, Served::Tavolo { .. });
    fac.change(sd, move |d| {
        if tavolo {
            let session = tavolo_model::SessionDoc::load(d).map_err(|e| anyhow!("{e}"))?;
            let phase = session
                .phases
                .iter()
                .find(|p| {
                    p.questions
                        .iter()
                        .any(|x| DocumentId::from_url(&x.doc_url).ok() == Some(q))
                })
                .context("the question's phase")?;
            ops::set_phase_locked(d, &phase.id, true)?;
        } else {
            automerge::transaction::Transactable::put(d, automerge::ROOT, "locked", true)?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await??;
    let mut refusal = String::new();
    if let Some((mut c, me)) = latecomer {
        // Once the lock reached the phones (the server took it).
        let deadline = micros() + 20_000_000;
        while micros() < deadline && !thins.iter().any(|t| lock(&t.stats).lock_at.is_some()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let note = NewNote {
            text: "Scritta dopo la chiusura della fase".into(),
            category: None,
            anonymous: false,
            created_at: scheduled as i64,
        };
        c.change(q, move |d| ops::add_note(d, "n_after_lock", &me, &note))
            .await??;
        let refused = c
            .pump_until(Duration::from_secs(20), |v| !v.refusals.is_empty())
            .await;
        refusal = match (refused, c.refusals().first()) {
            (Ok(()), Some(r)) => {
                format!("a participant's note after the lock: refused ({})", r.code)
            }
            _ => "a participant's note after the lock was NOT refused".into(),
        };
        let _ = c.close().await;
    }
    let (fulls, mut o) = bed.finish(run, &thins, args.drain).await?;
    let mut lock_us: Vec<u64> = thins
        .iter()
        .filter_map(|t| lock(&t.stats).lock_at)
        .map(|at| at.saturating_sub(scheduled))
        .collect();
    lock_us.sort_unstable();
    o.scenario = "lock".into();
    if lock_us.len() < thins.len() {
        o.failed_clients += thins.len() - lock_us.len();
        o.writer_problems.push(format!(
            "{} of {} phones never got the lock",
            thins.len() - lock_us.len(),
            thins.len()
        ));
    }
    if refusal.contains("NOT") {
        o.writer_problems.push(refusal.clone());
        o.converged = false;
        o.convergence = refusal.clone();
    }
    o.extra = format!(
        "lock reached {}/{} phones: {}{}",
        lock_us.len(),
        thins.len(),
        spread_ms(&lock_us),
        if refusal.is_empty() {
            String::new()
        } else {
            format!("; {refusal}")
        }
    );
    o.print();
    let _ = fac.close().await;
    bed.stop(thins, fulls).await;
    Ok(vec![o])
}

/// Late joiners on the big board while the room brainstorms: from the
/// socket's connect to the first `sync` of the question carrying changes
/// (the whole board).
async fn late(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let fulls = bed
        .full_clients(args.writers, args.participant_writers)
        .await?;
    let thins = bed.connect_thins(rt, args.clients).await?;
    let joiner_tickets = bed.tickets(args.joiners).await?;
    let arrive = Duration::from_secs_f64(1.0 / args.join_rate.max(0.01));
    let seconds = (args.seconds as f64).max(arrive.as_secs_f64() * args.joiners as f64 + 3.0);
    let load = Load::notes(args.clients as f64 * args.rate, seconds);
    let run = bed.begin(fulls, &thins, load, rt).await;
    let mut joiners = Vec::new();
    for t in &joiner_tickets {
        joiners.push(Thin::spawn(rt, bed.served.ws_url(Some(t)), bed.docs));
        tokio::time::sleep(arrive).await;
    }
    let ready = wait_ready(&joiners, Duration::from_secs(60)).await;
    let (fulls, mut o) = bed.finish(run, &thins, args.drain).await?;
    let mut join_us: Vec<u64> = joiners
        .iter()
        .filter_map(|j| lock(&j.stats).board_us)
        .collect();
    join_us.sort_unstable();
    let board_kib = joiners
        .iter()
        .map(|j| lock(&j.stats).board_bytes)
        .max()
        .unwrap_or(0)
        / 1024;
    o.scenario = "late".into();
    o.failed_clients += joiners.len() - ready;
    o.extra = format!(
        "{} joiners at {}/s: board in {} ({board_kib} KiB)",
        joiners.len(),
        args.join_rate,
        spread_ms(&join_us),
    );
    o.print();
    let mut all = thins;
    all.extend(joiners);
    bed.stop(all, fulls).await;
    Ok(vec![o])
}

/// Every thin client dropped at once, reconnecting at once: time until
/// all have the board again; then a short brainstorm to check they all
/// receive again.
async fn reconnect(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let fulls = bed
        .full_clients(args.writers, args.participant_writers)
        .await?;
    let mut thins = bed.connect_thins(rt, args.clients).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu0 = proc_cpu_seconds(bed.pid).unwrap_or(0.0);
    let t0 = micros();
    for t in &mut thins {
        t.abort();
    }
    let mut again: Vec<Thin> = thins
        .iter()
        .map(|t| Thin::spawn(rt, t.url.clone(), bed.docs))
        .collect();
    let ready = wait_ready(&again, Duration::from_secs(120)).await;
    let cpu = proc_cpu_seconds(bed.pid).unwrap_or(0.0) - cpu0;
    let mut per: Vec<u64> = Vec::new();
    let mut all_at = 0;
    let mut presence_bytes = 0;
    for t in &again {
        let s = lock(&t.stats);
        if let Some(b) = s.board_us {
            per.push(b);
            all_at = all_at.max(s.connect_started + b);
        }
        presence_bytes += s.ephemeral_bytes;
    }
    per.sort_unstable();
    let storm = format!(
        "{ready}/{} back with the board {:.2} s after the drop (per client p50 {:.0} ms, p99 {:.0} ms); server CPU {cpu:.2} s for the storm, presence {:.1} MiB sent",
        again.len(),
        all_at.saturating_sub(t0) as f64 / 1e6,
        percentile(&per, 0.5) as f64 / 1e3,
        percentile(&per, 0.99) as f64 / 1e3,
        presence_bytes as f64 / (1 << 20) as f64,
    );
    eprintln!("reconnect: {storm}");
    let seconds = (args.seconds as f64).min(10.0);
    let load = Load::notes(args.clients as f64 * args.rate, seconds);
    let run = bed.begin(fulls, &again, load, rt).await;
    let (fulls, mut o) = bed.finish(run, &again, args.drain).await?;
    o.scenario = "reconnect".into();
    o.failed_clients += again.len() - ready;
    o.extra = format!("{storm}; then {seconds:.0} s of brainstorm");
    o.print();
    for t in &mut thins {
        t.abort();
    }
    again.append(&mut thins);
    bed.stop(again, fulls).await;
    Ok(vec![o])
}

/// N connected thin clients doing nothing: what each costs the server.
async fn idle(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    let tickets = bed.tickets(args.clients).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = proc_status_kib(bed.pid, "VmRSS:").unwrap_or(0);
    // Half, then the other half: the second half's cost per client leaves
    // out what the first arrivals left behind (allocator arenas, buffers).
    let half = tickets.len() / 2;
    let mut thins = bed.connect_tickets(rt, &tickets[..half]).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_half = proc_status_kib(bed.pid, "VmRSS:").unwrap_or(0);
    thins.extend(bed.connect_tickets(rt, &tickets[half..]).await?);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu0 = proc_cpu_seconds(bed.pid).unwrap_or(0.0);
    let gen0 = proc_cpu_seconds(std::process::id()).unwrap_or(0.0);
    let quiet = Duration::from_secs(10);
    tokio::time::sleep(quiet).await;
    let cpu = proc_cpu_seconds(bed.pid).unwrap_or(0.0) - cpu0;
    let gen_cpu = proc_cpu_seconds(std::process::id()).unwrap_or(0.0) - gen0;
    let rss1 = proc_status_kib(bed.pid, "VmRSS:").unwrap_or(0);
    let connected = thins.iter().filter(|t| t.connected()).count();
    let per = rss1.saturating_sub(rss0) as f64 / connected.max(1) as f64;
    let mut o = Outcome {
        server: bed.served.name().into(),
        scenario: "idle".into(),
        thin: connected,
        board_changes: bed.board_changes,
        server_cpu: cpu,
        window_s: quiet.as_secs_f64(),
        rss_kib: rss1,
        hwm_kib: proc_status_kib(bed.pid, "VmHWM:").unwrap_or(0),
        gen_cpu,
        converged: true,
        failed_clients: thins.len() - connected,
        ..Outcome::default()
    };
    let marginal = rss1.saturating_sub(rss_half) as f64 / (thins.len() - half).max(1) as f64;
    o.extra = format!(
        "RSS {:.1} MiB with 0 clients, {:.1} MiB with {half}, {:.1} MiB with {connected}: {per:.0} KiB per idle client ({marginal:.0} KiB each for the second half); server CPU {:.1}% of a core while idle",
        rss0 as f64 / 1024.0,
        rss_half as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        100.0 * cpu / quiet.as_secs_f64()
    );
    o.print();
    bed.stop(thins, Vec::new()).await;
    Ok(vec![o])
}

/// What one open document costs the server: a fresh process over the
/// stored board, before and after one client opens it (the session
/// document and the 1,000-note question, and one connection).
async fn documents(args: &Args, rt: &ThinRuntime) -> Result<Vec<Outcome>> {
    let mut bed = Bed::start(args).await?;
    if matches!(bed.served, Served::Relay(_)) {
        eprintln!("documents: the relay keeps nothing to load again; skipped");
        bed.stop(Vec::new(), Vec::new()).await;
        return Ok(Vec::new());
    }
    let tickets = bed.tickets(1).await?;
    let bed = bed.restart().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = proc_status_kib(bed.pid, "VmRSS:").unwrap_or(0);
    let cpu0 = proc_cpu_seconds(bed.pid).unwrap_or(0.0);
    let t = std::time::Instant::now();
    let thins = bed.connect_tickets(rt, &tickets).await?;
    let load = t.elapsed();
    let cpu = proc_cpu_seconds(bed.pid).unwrap_or(0.0) - cpu0;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = proc_status_kib(bed.pid, "VmRSS:").unwrap_or(0);
    let ready = thins.iter().filter(|t| t.ready()).count();
    let mut o = Outcome {
        server: bed.served.name().into(),
        scenario: "documents".into(),
        thin: ready,
        board_changes: bed.board_changes,
        server_cpu: cpu,
        window_s: load.as_secs_f64(),
        rss_kib: rss1,
        hwm_kib: proc_status_kib(bed.pid, "VmHWM:").unwrap_or(0),
        converged: true,
        failed_clients: thins.len() - ready,
        ..Outcome::default()
    };
    o.extra = format!(
        "restarted over the stored board: RSS {:.1} MiB; one client opens it and has it in {:.0} ms ({:.2} s CPU): RSS {:.1} MiB, {:.1} MiB for the {}-note document and the session's",
        rss0 as f64 / 1024.0,
        load.as_secs_f64() * 1e3,
        cpu,
        rss1 as f64 / 1024.0,
        rss1.saturating_sub(rss0) as f64 / 1024.0,
        bed.board_notes,
    );
    o.print();
    bed.stop(thins, Vec::new()).await;
    Ok(vec![o])
}

// ---------------------------------------------------------------- the bed

/// A fresh server with one session and its first question laid out.
struct Bed {
    served: Served,
    pid: u32,
    docs: Docs,
    board_changes: usize,
    board_notes: usize,
    seq: Arc<AtomicU64>,
    participants: usize,
    viewers: usize,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Bed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bed").field("pid", &self.pid).finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Docs {
    session: DocumentId,
    question: DocumentId,
}

impl Bed {
    async fn start(args: &Args) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        match args.server.as_str() {
            "tavolo" => Self::start_tavolo(args, dir).await,
            "automerge-repo" | "relay" => Self::start_stock(args, dir).await,
            other => bail!("unknown server {other}: tavolo, automerge-repo or relay"),
        }
    }

    /// The stock automerge-repo sync server or the plain relay, given the
    /// same board: built here (the same steps) and synced to it by one
    /// client.
    async fn start_stock(args: &Args, dir: tempfile::TempDir) -> Result<Self> {
        let t = std::time::Instant::now();
        let served = if args.server == "relay" {
            Served::Relay(ChildServer::relay().await?)
        } else {
            Served::Stock(ChildServer::stock(dir.path()).await?)
        };
        let pid = served.child_pid().context("server pid")?;
        let (notes, edits) = (args.board_notes, args.board_edits);
        let mut board = AutoCommit::new();
        ops::init_question_doc(&mut board)?;
        board.commit();
        for step in 0..fanout::board_changes(notes, edits) {
            fanout::board_step(&mut board, step, notes)?;
            board.commit();
        }
        let mut session = AutoCommit::new();
        automerge::transaction::Transactable::put(&mut session, automerge::ROOT, "bench", "stock")?;
        session.commit();
        let docs = Docs {
            session: DocumentId::random(),
            question: DocumentId::random(),
        };
        let heads = sorted(board.get_heads());
        let board_changes = board.get_changes(&[]).len();
        let bytes = board.save().len();
        let c = SyncClient::connect_with(
            &served.ws_url(None),
            vec![(docs.session, session), (docs.question, board)],
        )
        .await?;
        Self::wait_for_board(&served, None, docs, &heads).await?;
        let _ = c.close().await;
        Ok(Self::ready(
            served,
            pid,
            docs,
            (notes, board_changes, bytes),
            t,
            dir,
        ))
    }

    /// The bed, once the server has the board (notes, changes, bytes saved).
    fn ready(
        served: Served,
        pid: u32,
        docs: Docs,
        (notes, board_changes, bytes): (usize, usize, usize),
        since: std::time::Instant,
        dir: tempfile::TempDir,
    ) -> Self {
        eprintln!(
            "board ({}): {notes} notes, {board_changes} changes, {} KiB saved, on the server in {:.1} s",
            served.name(),
            bytes / 1024,
            since.elapsed().as_secs_f64()
        );
        Self {
            served,
            pid,
            docs,
            board_changes,
            board_notes: notes,
            seq: Arc::new(AtomicU64::new(0)),
            participants: 0,
            viewers: 0,
            _dir: dir,
        }
    }

    /// Waits until a fresh peer opening the board is sent `heads`.
    async fn wait_for_board(
        served: &Served,
        ticket: Option<&Ticket>,
        docs: Docs,
        heads: &[ChangeHash],
    ) -> Result<()> {
        let deadline = micros() + 60_000_000;
        loop {
            let mut probe = Thin::spawn_on(
                &tokio::runtime::Handle::current(),
                served.ws_url(ticket),
                docs,
            );
            let _ = wait_ready(std::slice::from_ref(&probe), Duration::from_secs(20)).await;
            let got = sorted(lock(&probe.stats).q_heads.clone());
            probe.abort();
            if got == heads {
                return Ok(());
            }
            if micros() > deadline {
                bail!("the server does not have the board after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn start_tavolo(args: &Args, dir: tempfile::TempDir) -> Result<Self> {
        let server = ServerProcess::start_with(dir.path(), &["--no-rate-limits"]).await?;
        let pid = server.pid().context("server pid")?;
        let api = server.api();
        let session = api.create_session().await?;
        let sd = session.session_doc;
        let fac = api.facilitator(&session).await?;
        let mut c = SyncClient::connect(&server.ws_url(&fac.ticket)).await?;
        c.open(sd).await?;
        c.pump_until(Duration::from_secs(30), |v| {
            tavolo_model::SessionDoc::load(v.doc(sd)).is_ok()
        })
        .await?;
        let q = *question_docs(&c.doc(sd))
            .first()
            .context("the session has no question")?;
        c.open(q).await?;
        c.pump_until(Duration::from_secs(30), |v| {
            tavolo_model::read::get_map(v.doc(q), &automerge::ROOT, "notes").is_some()
        })
        .await?;
        // The board goes onto the server's own copy of the question (one
        // history), a thousand changes per message.
        let t = std::time::Instant::now();
        let (notes, edits) = (args.board_notes, args.board_edits);
        let total = if notes == 0 {
            fanout::BOARD_CLUSTERS
        } else {
            fanout::board_changes(notes, edits)
        };
        let mut step = 0;
        while step < total {
            let end = (step + BOARD_BATCH).min(total);
            let before = c.lock_view(|v| v.sync_received.get(&q).copied().unwrap_or(0));
            c.change(q, |d| {
                for s in step..end {
                    fanout::board_step(d, s, notes)?;
                    d.commit();
                }
                Ok::<_, ops::OpError>(())
            })
            .await??;
            let answered = c
                .pump_until(Duration::from_secs(20), |v| {
                    v.sync_received.get(&q).copied().unwrap_or(0) > before
                })
                .await;
            if let Err(e) = answered {
                // The probe below decides whether the board got there.
                let (closed, errors) = c.lock_view(|v| (v.closed.clone(), v.errors.clone()));
                eprintln!(
                    "board: no answer to the batch ending at change {end} ({e:#}; closed {closed:?}, errors {errors:?})"
                );
                if closed.is_some() {
                    bail!("the server closed the board's connection: {closed:?}");
                }
            }
            step = end;
        }
        if !c.refusals().is_empty() {
            bail!("the server refused the board: {:?}", c.refusals());
        }
        let mut doc = c.doc(q);
        let heads = sorted(doc.get_heads());
        let board_changes = doc.get_changes(&[]).len();
        let bytes = doc.save().len();
        let docs = Docs {
            session: sd,
            question: q,
        };
        // The server has the board when a fresh peer is sent these heads.
        let served = Served::Tavolo {
            server,
            api,
            session,
        };
        Self::wait_for_board(&served, Some(&fac), docs, &heads).await?;
        let _ = c.close().await;
        Ok(Self::ready(
            served,
            pid,
            docs,
            (notes, board_changes, bytes),
            t,
            dir,
        ))
    }

    /// Stops the server and starts it again over the same data: nothing
    /// loaded until a client asks.
    async fn restart(mut self) -> Result<Self> {
        let dir = self._dir.path().to_path_buf();
        self.served = match self.served {
            Served::Tavolo {
                server, session, ..
            } => {
                server.terminate().await?;
                let server = ServerProcess::start_with(&dir, &["--no-rate-limits"]).await?;
                Served::Tavolo {
                    api: server.api(),
                    server,
                    session,
                }
            }
            Served::Stock(mut s) => {
                // Its storage writes are debounced; give them time to land.
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = s.child.kill().await;
                Served::Stock(ChildServer::stock(&dir).await?)
            }
            Served::Relay(_) => bail!("the relay keeps nothing to load again"),
        };
        self.pid = self.served.child_pid().context("server pid")?;
        Ok(self)
    }

    /// Tickets for `n` more clients: participants while the session takes
    /// them, then projector (read-only) tickets.
    async fn tickets(&mut self, n: usize) -> Result<Vec<Ticket>> {
        let Served::Tavolo { api, session, .. } = &self.served else {
            // The stock server asks for nothing: a ticket is only a name.
            let first = self.participants;
            self.participants += n;
            return Ok((first..first + n)
                .map(|i| Ticket {
                    ticket: String::new(),
                    participant_id: Some(format!("p_stock_{i}")),
                    session_doc: self.docs.session,
                })
                .collect());
        };
        let as_participants = n.min(MAX_PARTICIPANTS.saturating_sub(self.participants));
        let first = self.participants;
        let code = &session.join_code;
        let mut out: Vec<Ticket> = futures_util::stream::iter(first..first + as_participants)
            .map(|i| async move { api.join(code, &format!("Persona {i}")).await })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        self.participants += as_participants;
        for _ in as_participants..n {
            out.push(api.projector(session).await?);
            self.viewers += 1;
        }
        if self.viewers > 0 && as_participants < n {
            eprintln!(
                "note: the session takes {MAX_PARTICIPANTS} participants; {} thin clients are projector screens",
                n - as_participants
            );
        }
        Ok(out)
    }

    async fn connect_thins(&mut self, rt: &ThinRuntime, n: usize) -> Result<Vec<Thin>> {
        let tickets = self.tickets(n).await?;
        self.connect_tickets(rt, &tickets).await
    }

    /// Connects thin clients in waves, each wave with the board before the
    /// next.
    async fn connect_tickets(&self, rt: &ThinRuntime, tickets: &[Ticket]) -> Result<Vec<Thin>> {
        let t = std::time::Instant::now();
        let mut thins = Vec::with_capacity(tickets.len());
        for wave in tickets.chunks(CONNECT_WAVE) {
            let from = thins.len();
            for ticket in wave {
                thins.push(Thin::spawn(rt, self.served.ws_url(Some(ticket)), self.docs));
            }
            wait_ready(&thins[from..], Duration::from_secs(60)).await;
        }
        let ready = thins.iter().filter(|t| t.ready()).count();
        let mut join_us: Vec<u64> = thins
            .iter()
            .filter_map(|t| lock(&t.stats).board_us)
            .collect();
        join_us.sort_unstable();
        eprintln!(
            "{ready}/{} thin clients connected with the board in {:.1} s (each: p50 {:.0} ms, max {:.0} ms)",
            thins.len(),
            t.elapsed().as_secs_f64(),
            percentile(&join_us, 0.5) as f64 / 1e3,
            join_us.last().copied().unwrap_or(0) as f64 / 1e3,
        );
        for t in thins.iter().filter(|t| !t.ready()) {
            let s = lock(&t.stats);
            eprintln!("  not ready: closed {:?}, error {:?}", s.closed, s.error);
        }
        Ok(thins)
    }

    /// Full clients, each with the whole board.
    async fn full_clients(&mut self, n: usize, participants: bool) -> Result<Vec<Full>> {
        let q = self.docs.question;
        let mut out = Vec::with_capacity(n);
        for idx in 0..n {
            let (ticket, me) = if participants {
                let t = self
                    .tickets(1)
                    .await?
                    .pop()
                    .context("no ticket for a writer")?;
                let me = t
                    .participant_id
                    .clone()
                    .context("writers as participants need participant tickets")?;
                (t, ParticipantId(me))
            } else {
                let t = self.served.facilitator(self.docs.session).await?;
                (t, ParticipantId(format!("p_writer_{idx}")))
            };
            let mut client = SyncClient::connect(&self.served.ws_url(Some(&ticket))).await?;
            client.open(q).await?;
            let notes = self.board_notes;
            client
                .pump_until(Duration::from_secs(60), |v| {
                    let d = v.doc(q);
                    tavolo_model::read::get_map(d, &automerge::ROOT, "notes")
                        .is_some_and(|n| d.length(&n) >= notes)
                })
                .await
                .context("a writer did not get the board")?;
            let (heads, known) = client
                .change(q, |d| {
                    let known = d
                        .document()
                        .get_changes_meta(&[])
                        .into_iter()
                        .map(|c| c.hash)
                        .collect();
                    (d.get_heads(), known)
                })
                .await?;
            out.push(Full {
                idx,
                client,
                me,
                obs: Observer {
                    heads,
                    known,
                    ..Observer::default()
                },
                lags: Vec::new(),
                errors: Vec::new(),
            });
        }
        Ok(out)
    }

    /// Starts a measured window: the writers write `load`, every client
    /// times what it receives.
    async fn begin(
        &self,
        fulls: Vec<Full>,
        thins: &[Thin],
        load: Load,
        rt: &ThinRuntime,
    ) -> Running {
        let durable0 = self.served.durable().await;
        let a = self.seq.load(Ordering::SeqCst);
        let mut bytes = Bytes::default();
        for t in thins {
            let mut s = lock(&t.stats);
            s.scan_docs = true;
            s.window_from = a;
            s.lat.clear();
            s.worst = (0, 0, 0);
            s.dups = 0;
            bytes.add(&s);
        }
        let cpu0 = proc_cpu_seconds(self.pid).unwrap_or(0.0);
        let gen0 = proc_cpu_seconds(std::process::id()).unwrap_or(0.0);
        let thin0 = rt.cpu_seconds().unwrap_or(0.0);
        let start = micros() + 200_000;
        let w = fulls.len().max(1) as f64;
        let period = w * 1e6 / load.per_second.max(1e-6);
        let end = start + (load.seconds * 1e6) as u64;
        let q = self.docs.question;
        let tasks = fulls
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.obs.window_from = a;
                f.obs.lat.clear();
                f.obs.worst = (0, 0, 0);
                f.obs.dups = 0;
                f.lags.clear();
                let plan = Plan {
                    start: start + (period * i as f64 / w) as u64,
                    period,
                    end,
                    kind: load.kind,
                };
                tokio::spawn(f.write_phase(q, plan, self.seq.clone()))
            })
            .collect();
        Running {
            tasks,
            a,
            bytes,
            cpu0,
            gen0,
            thin0,
            start,
            load,
            durable0,
        }
    }

    /// Waits for the writers, lets deliveries drain, and measures.
    async fn finish(
        &self,
        run: Running,
        thins: &[Thin],
        drain: u64,
    ) -> Result<(Vec<Full>, Outcome)> {
        let mut fulls = Vec::new();
        for t in run.tasks {
            fulls.push(t.await?);
        }
        let (a, b) = (run.a, self.seq.load(Ordering::SeqCst));
        let notes = b - a;
        let deadline = micros() + drain * 1_000_000;
        let q = self.docs.question;
        let drains: Vec<_> = fulls
            .into_iter()
            .map(|f| tokio::spawn(f.drain(q, a, b, deadline)))
            .collect();
        loop {
            let missing: u64 = thins
                .iter()
                .map(|t| notes - lock(&t.stats).seen.count(a, b))
                .sum();
            if missing == 0 || micros() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut fulls = Vec::new();
        for d in drains {
            fulls.push(d.await?);
        }
        let t_end = micros();
        let window_s = t_end.saturating_sub(run.start) as f64 / 1e6;
        let server_cpu = proc_cpu_seconds(self.pid).unwrap_or(0.0) - run.cpu0;
        let gen_cpu = proc_cpu_seconds(std::process::id()).unwrap_or(0.0) - run.gen0;
        let thin_cpu = rt_cpu_delta(run.thin0);
        let mut thin_lat: Vec<u64> = Vec::new();
        let mut full_lat: Vec<u64> = Vec::new();
        let mut missing = 0;
        let mut dups = 0;
        let mut bytes = Bytes::default();
        let mut closed: Vec<String> = Vec::new();
        let mut bad: Vec<String> = Vec::new();
        let mut worst: Vec<(u32, u64, u64, &str)> = Vec::new();
        for t in thins {
            let s = lock(&t.stats);
            worst.push((s.worst.0, s.worst.1, s.worst.2, "thin"));
            thin_lat.extend(s.lat.iter().map(|&l| u64::from(l)));
            missing += notes - s.seen.count(a, b);
            dups += s.dups;
            bytes.add(&s);
            if let Some(c) = &s.closed {
                closed.push(format!("{} {}", c.0, c.1));
            } else if let Some(e) = &s.error {
                closed.push(e.clone());
            }
            if let Some(e) = &s.bad_chunk {
                bad.push(format!("{} unreadable ({e})", s.bad_chunks));
            }
        }
        let bytes = bytes.minus(&run.bytes);
        if let Some(b) = bad.first() {
            eprintln!(
                "  {} thin clients could not read a sync message, e.g. {b}",
                bad.len()
            );
        }
        let mut lags = Vec::new();
        let mut writer_problems = Vec::new();
        worst.extend(
            fulls
                .iter()
                .map(|f| (f.obs.worst.0, f.obs.worst.1, f.obs.worst.2, "full")),
        );
        if let Some(&(l, seq, at, kind)) = worst.iter().max() {
            let same = worst.iter().filter(|w| w.1 == seq).count();
            eprintln!(
                "  slowest delivery: change {seq} scheduled {:.2} s into the window, {:.1} ms to a {kind} client; the slowest for {same} of {} clients",
                at.saturating_sub(run.start) as f64 / 1e6,
                f64::from(l) / 1e3,
                worst.len()
            );
        }
        for f in &fulls {
            full_lat.extend(f.obs.lat.iter().map(|&l| u64::from(l)));
            missing += notes - f.obs.seen.count(a, b);
            dups += f.obs.dups;
            lags.extend(f.lags.iter().map(|&l| u64::from(l)));
            if let Some(c) = f.client.lock_view(|v| v.closed.clone()) {
                writer_problems.push(format!("writer {} closed: {} {}", f.idx, c.0, c.1));
            }
            let refused = f.client.refusals();
            if !refused.is_empty() {
                writer_problems.push(format!(
                    "writer {} refused {} times ({})",
                    f.idx,
                    refused.len(),
                    refused[0].code
                ));
            }
            for e in f.errors.iter().take(3) {
                writer_problems.push(format!("writer {}: {e}", f.idx));
            }
        }
        let durable = match (run.durable0, self.served.durable().await) {
            (Some(before), Some(after)) => Some(after.minus(&before)),
            _ => None,
        };
        let (converged, why) = converge(q, &mut fulls, thins, Duration::from_secs(10)).await;
        thin_lat.sort_unstable();
        full_lat.sort_unstable();
        lags.sort_unstable();
        let mut all: Vec<u64> = thin_lat.iter().chain(&full_lat).copied().collect();
        all.sort_unstable();
        let thin_deliveries = thin_lat.len() as u64;
        let o = Outcome {
            server: self.served.name().into(),
            scenario: String::new(),
            thin: thins.len(),
            full: fulls.len(),
            board_changes: self.board_changes,
            load_per_s: run.load.per_second,
            notes,
            deliveries: all.len() as u64,
            missing,
            dups,
            p50: percentile(&all, 0.5),
            p99: percentile(&all, 0.99),
            max: all.last().copied().unwrap_or(0),
            thin_p99: percentile(&thin_lat, 0.99),
            full_p99: percentile(&full_lat, 0.99),
            server_cpu,
            window_s,
            rss_kib: proc_status_kib(self.pid, "VmRSS:").unwrap_or(0),
            hwm_kib: proc_status_kib(self.pid, "VmHWM:").unwrap_or(0),
            bytes_per_delivery: bytes.all as f64 / thin_deliveries.max(1) as f64,
            sync_bytes_per_delivery: bytes.sync as f64 / thin_deliveries.max(1) as f64,
            presence_bytes: bytes.ephemeral,
            frames: bytes.frames,
            doc_chunks: bytes.doc_chunks,
            gen_cpu,
            thin_cpu,
            lag_p99: percentile(&lags, 0.99),
            lag_max: lags.last().copied().unwrap_or(0),
            converged,
            convergence: why,
            closed,
            writer_problems,
            failed_clients: 0,
            extra: String::new(),
            durable,
        };
        Ok((fulls, o))
    }

    async fn stop(self, mut thins: Vec<Thin>, fulls: Vec<Full>) {
        for t in &mut thins {
            t.abort();
        }
        for f in fulls {
            let _ = f.client.close().await;
        }
        self.served.kill().await;
    }
}

/// The server under load.
enum Served {
    Tavolo {
        server: ServerProcess,
        api: Api,
        session: Session,
    },
    Stock(ChildServer),
    Relay(ChildServer),
}

impl Served {
    fn name(&self) -> &'static str {
        match self {
            Served::Tavolo { .. } => "tavolo",
            Served::Stock(_) => "automerge-repo",
            Served::Relay(_) => "relay",
        }
    }

    /// Tavolo's change → durable histogram, from `/metrics` (the other
    /// servers do not say: the stock one writes files without fsync, the
    /// relay keeps nothing).
    async fn durable(&self) -> Option<Buckets> {
        let Served::Tavolo { api, .. } = self else {
            return None;
        };
        match api.get_authorized("/metrics", None).await {
            Ok(f) if f.status == 200 => Buckets::parse(&f.body, "tavolo_change_durable_seconds"),
            Ok(f) => {
                eprintln!("/metrics answered {}", f.status);
                None
            }
            Err(e) => {
                eprintln!("/metrics: {e:#}");
                None
            }
        }
    }

    /// The pid of a server this bench started as a child.
    fn child_pid(&self) -> Option<u32> {
        match self {
            Served::Tavolo { server, .. } => server.pid(),
            Served::Stock(s) | Served::Relay(s) => s.child.id(),
        }
    }

    /// Where a client with `ticket` connects.
    fn ws_url(&self, ticket: Option<&Ticket>) -> String {
        match self {
            Served::Tavolo { server, .. } => {
                server.ws_url(ticket.map_or("", |t| t.ticket.as_str()))
            }
            Served::Stock(s) | Served::Relay(s) => s.url.clone(),
        }
    }

    /// A ticket for a writer that is not a participant.
    async fn facilitator(&self, session_doc: DocumentId) -> Result<Ticket> {
        match self {
            Served::Tavolo { api, session, .. } => api.facilitator(session).await,
            Served::Stock(_) | Served::Relay(_) => Ok(Ticket {
                ticket: String::new(),
                participant_id: None,
                session_doc,
            }),
        }
    }

    async fn kill(self) {
        match self {
            Served::Tavolo { server, .. } => {
                let _ = server.kill().await;
            }
            Served::Stock(mut s) | Served::Relay(mut s) => {
                let _ = s.child.kill().await;
            }
        }
    }
}

/// A server this bench runs as a child process, which prints
/// `listening <port>` when ready.
struct ChildServer {
    child: tokio::process::Child,
    url: String,
}

impl ChildServer {
    /// `node bench/stock/server.mjs`: the stock automerge-repo sync server.
    async fn stock(dir: &std::path::Path) -> Result<Self> {
        let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stock");
        if !here.join("node_modules/@automerge/automerge-repo").exists() {
            bail!(
                "the stock server's packages are not installed: run `npm ci` in {}",
                here.display()
            );
        }
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(here.join("server.mjs")).arg(dir.join("stock"));
        Self::start(cmd).await
    }

    /// `tavolo-bench relay-server` (this program): the plain relay.
    async fn relay() -> Result<Self> {
        // /proc/self/exe still runs this program if it was rebuilt since.
        let me = std::path::PathBuf::from("/proc/self/exe");
        let me = if me.exists() {
            me
        } else {
            std::env::current_exe()?
        };
        let mut cmd = tokio::process::Command::new(me);
        cmd.arg("relay-server");
        Self::start(cmd).await
    }

    async fn start(mut cmd: tokio::process::Command) -> Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let out = child.stdout.take().context("server stdout")?;
        let mut lines = tokio::io::BufReader::new(out).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(p) = line.strip_prefix("listening ") {
                    return Ok::<u16, anyhow::Error>(p.trim().parse()?);
                }
            }
            bail!("the server exited before listening")
        })
        .await
        .context("the server did not start in 20 s")??;
        // Keep reading its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            url: format!("ws://127.0.0.1:{port}/"),
        })
    }
}

/// "p50 …, p99 …, max …" of sorted microseconds, in milliseconds.
fn spread_ms(sorted_us: &[u64]) -> String {
    format!(
        "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(sorted_us, 0.5) as f64 / 1e3,
        percentile(sorted_us, 0.99) as f64 / 1e3,
        sorted_us.last().copied().unwrap_or(0) as f64 / 1e3,
    )
}

/// CPU of the thin clients' thread since `from` (seconds).
fn rt_cpu_delta(from: f64) -> f64 {
    THIN_TID
        .get()
        .and_then(|tid| thread_cpu_seconds(*tid))
        .map_or(0.0, |c| c - from)
}

/// Every full client has the same heads, and every thin client last
/// acknowledged them (they came from the server).
async fn converge(
    q: DocumentId,
    fulls: &mut [Full],
    thins: &[Thin],
    limit: Duration,
) -> (bool, String) {
    let deadline = micros() + limit.as_micros() as u64;
    loop {
        let mut heads: Vec<Vec<ChangeHash>> = Vec::new();
        for f in fulls.iter_mut() {
            heads.push(sorted(f.heads(q).await));
        }
        let reference = heads.first().cloned().or_else(|| {
            thins
                .iter()
                .find(|t| t.connected())
                .map(|t| sorted(lock(&t.stats).q_heads.clone()))
        });
        let Some(reference) = reference else {
            return (true, "nobody to compare".into());
        };
        let fulls_differ = heads.iter().filter(|h| **h != reference).count();
        let thins_differ = thins
            .iter()
            .filter(|t| sorted(lock(&t.stats).q_heads.clone()) != reference)
            .count();
        if fulls_differ == 0 && thins_differ == 0 {
            return (true, "all heads equal".into());
        }
        if micros() > deadline {
            return (
                false,
                format!(
                    "{fulls_differ} full and {thins_differ} thin clients have other heads than the first writer"
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------- load

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A new note per change.
    Note,
    /// A board note moved to another group per change.
    Move { notes: usize },
}

#[derive(Debug, Clone, Copy)]
struct Load {
    kind: Kind,
    /// Changes per second, all writers together.
    per_second: f64,
    seconds: f64,
}

impl Load {
    fn notes(per_second: f64, seconds: f64) -> Self {
        Self {
            kind: Kind::Note,
            per_second,
            seconds,
        }
    }
}

/// One writer's schedule (µs since the process epoch).
#[derive(Debug, Clone, Copy)]
struct Plan {
    start: u64,
    period: f64,
    end: u64,
    kind: Kind,
}

#[derive(Debug)]
struct Running {
    tasks: Vec<tokio::task::JoinHandle<Full>>,
    a: u64,
    bytes: Bytes,
    cpu0: f64,
    gen0: f64,
    thin0: f64,
    start: u64,
    load: Load,
    /// The server's change → durable histogram as the window began.
    durable0: Option<Buckets>,
}

/// What the load generator tags each change with.
#[derive(Debug, Clone, Copy)]
struct Tag {
    seq: u64,
    scheduled: u64,
    writer: usize,
}

impl Tag {
    fn encode(self) -> String {
        format!("fl:{}:{}:{}", self.seq, self.scheduled, self.writer)
    }

    fn parse(s: &str) -> Option<Tag> {
        let mut p = s.strip_prefix("fl:")?.split(':');
        Some(Tag {
            seq: p.next()?.parse().ok()?,
            scheduled: p.next()?.parse().ok()?,
            writer: p.next()?.parse().ok()?,
        })
    }
}

/// Which tagged changes a client has received (bit per sequence number).
#[derive(Debug, Default)]
struct Seen(Vec<u64>);

impl Seen {
    /// True if `i` is new.
    fn insert(&mut self, i: u64) -> bool {
        let (w, bit) = ((i / 64) as usize, i % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        let new = self.0[w] & (1 << bit) == 0;
        self.0[w] |= 1 << bit;
        new
    }

    fn contains(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn count(&self, a: u64, b: u64) -> u64 {
        (a..b).filter(|&i| self.contains(i)).count() as u64
    }
}

/// The commit message of an uncompressed change chunk, read from its
/// header (dependencies, actor, seq, start op, time, message) without
/// decoding the operations or checking the hash: a few hundred
/// nanoseconds instead of `Change::from_bytes`'s ~15 µs.
fn change_message(chunk: &[u8]) -> Option<&str> {
    let (len, h) = leb128(chunk.get(9..)?)?;
    let mut i = chunk.get(9 + h..9 + h + usize::try_from(len).ok()?)?;
    let (deps, k) = leb128(i)?;
    i = i.get(k + usize::try_from(deps).ok()? * 32..)?;
    let (actor, k) = leb128(i)?;
    i = i.get(k + usize::try_from(actor).ok()?..)?;
    for _ in 0..3 {
        // seq, start op, time
        let (_, k) = leb128(i)?;
        i = i.get(k..)?;
    }
    let (msg, k) = leb128(i)?;
    std::str::from_utf8(i.get(k..k + usize::try_from(msg).ok()?)?).ok()
}

/// An unsigned LEB128 and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0_u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn latency(now: u64, scheduled: u64) -> u32 {
    u32::try_from(now.saturating_sub(scheduled)).unwrap_or(u32::MAX)
}

fn sorted(mut h: Vec<ChangeHash>) -> Vec<ChangeHash> {
    h.sort_unstable();
    h
}

// ---------------------------------------------------------------- full clients

/// What a full client saw of the other writers' changes.
#[derive(Debug, Default)]
struct Observer {
    heads: Vec<ChangeHash>,
    /// Every change of the copy looked at so far.
    known: std::collections::HashSet<ChangeHash>,
    window_from: u64,
    lat: Vec<u32>,
    /// The slowest delivery: latency, sequence number, scheduled time.
    worst: (u32, u64, u64),
    seen: Seen,
    dups: u64,
}

impl Observer {
    /// Times the changes that arrived since the last look: a walk from the
    /// new heads back to changes already known (`get_changes_meta(heads)`
    /// would walk the whole history each time).
    fn scan(&mut self, d: &mut AutoCommit, me: usize) {
        let heads = d.get_heads();
        if heads == self.heads {
            return;
        }
        let now = micros();
        let doc = d.document();
        let mut stack: Vec<ChangeHash> = heads
            .iter()
            .filter(|h| !self.known.contains(*h))
            .copied()
            .collect();
        while let Some(h) = stack.pop() {
            if !self.known.insert(h) {
                continue;
            }
            let Some(c) = doc.get_change_meta_by_hash(&h) else {
                continue;
            };
            if let Some(t) = c.message.as_deref().and_then(Tag::parse)
                && t.writer != me
                && t.seq >= self.window_from
            {
                if self.seen.insert(t.seq) {
                    let l = latency(now, t.scheduled);
                    self.lat.push(l);
                    self.worst = self.worst.max((l, t.seq, t.scheduled));
                } else {
                    self.dups += 1;
                }
            }
            stack.extend(c.deps.iter().filter(|d| !self.known.contains(*d)));
        }
        self.heads = heads;
    }
}

/// A writer: a whole client with a document, over `SyncClient`.
#[derive(Debug)]
struct Full {
    idx: usize,
    client: SyncClient,
    me: ParticipantId,
    obs: Observer,
    /// How late each change went out after its scheduled time (µs).
    lags: Vec<u32>,
    errors: Vec<String>,
}

impl Full {
    /// The heads of the client's copy (`change` is the way to `&mut`; it
    /// commits nothing here).
    async fn heads(&mut self, q: DocumentId) -> Vec<ChangeHash> {
        self.client
            .change(q, |d| d.get_heads())
            .await
            .unwrap_or_default()
    }

    fn closed(&self) -> bool {
        self.client.lock_view(|v| v.closed.is_some())
    }

    fn received(&self, q: DocumentId) -> usize {
        self.client
            .lock_view(|v| v.sync_received.get(&q).copied().unwrap_or(0))
    }

    /// Times what arrived since the last look.
    async fn scan(&mut self, q: DocumentId) {
        let idx = self.idx;
        let Full { client, obs, .. } = self;
        let _ = client.change(q, |d| obs.scan(d, idx)).await;
    }

    /// Keeps reading (and timing) until `until` (µs since the epoch).
    async fn observe_until(&mut self, q: DocumentId, until: u64) {
        loop {
            self.scan(q).await;
            let now = micros();
            if now >= until || self.closed() {
                return;
            }
            let mark = self.received(q);
            let _ = self
                .client
                .pump_until(Duration::from_micros(until - now), |v| {
                    v.sync_received.get(&q).copied().unwrap_or(0) > mark
                })
                .await;
        }
    }

    async fn write_phase(mut self, q: DocumentId, plan: Plan, seq: Arc<AtomicU64>) -> Self {
        let mut k = 0_u64;
        loop {
            let scheduled = plan.start + (plan.period * k as f64) as u64;
            if scheduled >= plan.end || self.closed() {
                break;
            }
            self.observe_until(q, scheduled).await;
            let s = seq.fetch_add(1, Ordering::SeqCst);
            let sent = micros();
            if let Err(e) = self.write(q, plan.kind, s, scheduled).await {
                self.errors.push(format!("{e:#}"));
            }
            self.lags.push(latency(sent, scheduled));
            k += 1;
        }
        // Keep timing the others' changes until everyone stops writing.
        self.observe_until(q, plan.end).await;
        self
    }

    async fn write(&mut self, q: DocumentId, kind: Kind, seq: u64, scheduled: u64) -> Result<()> {
        let tag = Tag {
            seq,
            scheduled,
            writer: self.idx,
        }
        .encode();
        let me = self.me.clone();
        let commit = CommitOptions::default().with_message(tag);
        match kind {
            Kind::Note => {
                let note = NewNote {
                    text: format!("Nota {seq}: un'idea scritta durante il brainstorming"),
                    category: None,
                    anonymous: false,
                    created_at: scheduled as i64,
                };
                self.client
                    .change(q, move |d| {
                        ops::add_note(d, &format!("f_{seq}"), &me, &note)?;
                        d.commit_with(commit);
                        Ok::<_, ops::OpError>(())
                    })
                    .await??;
            }
            Kind::Move { notes } => {
                let n = (seq.wrapping_mul(7_919) % notes as u64) as usize;
                let c = (seq as usize * 31 + self.idx) % fanout::BOARD_CLUSTERS;
                self.client
                    .change(q, move |d| {
                        ops::set_note_cluster(d, &format!("n_{n}"), Some(&format!("c_{c}")))?;
                        d.commit_with(commit);
                        Ok::<_, ops::OpError>(())
                    })
                    .await??;
            }
        }
        self.obs.seen.insert(seq);
        Ok(())
    }

    /// Reads until this client has every change of the window, or `deadline`.
    async fn drain(mut self, q: DocumentId, a: u64, b: u64, deadline: u64) -> Self {
        loop {
            let now = micros();
            if self.obs.seen.count(a, b) >= b - a || now >= deadline || self.closed() {
                return self;
            }
            self.observe_until(q, (now + 50_000).min(deadline)).await;
        }
    }
}

// ---------------------------------------------------------------- thin clients

static DECODE_CHANGES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static THIN_TID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// The thin clients' own thread and `current_thread` runtime.
struct ThinRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ThinRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThinRuntime").finish_non_exhaustive()
    }
}

impl ThinRuntime {
    fn start() -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("thin-clients".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let tid = std::fs::read_link("/proc/thread-self")
                    .ok()
                    .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok());
                if let Some(tid) = tid {
                    let _ = THIN_TID.set(tid);
                }
                let _ = tx.send(Ok(rt.handle().clone()));
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let handle = rx.recv()?.map_err(|e| anyhow!(e))?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn cpu_seconds(&self) -> Option<f64> {
        thread_cpu_seconds(*THIN_TID.get()?)
    }
}

impl Drop for ThinRuntime {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What one thin client has seen.
#[derive(Debug, Default)]
struct ThinStats {
    /// Read the changes inside a whole-document chunk too (off while
    /// joining: the board has no tagged changes, and loading it costs).
    scan_docs: bool,
    /// `Change::from_bytes` for every change (else only the header of an
    /// uncompressed change is read).
    decode_changes: bool,
    window_from: u64,
    /// When the current connection started (µs since the epoch).
    connect_started: u64,
    /// From then to the first `sync` of the question carrying changes.
    board_us: Option<u64>,
    board_bytes: usize,
    /// The lock is on its way from then (µs since the epoch; 0: not
    /// measuring); the next change of the session document after it is
    /// the lock, and when it arrived.
    lock_from: u64,
    lock_at: Option<u64>,
    lat: Vec<u32>,
    /// The slowest delivery: latency, sequence number, scheduled time.
    worst: (u32, u64, u64),
    seen: Seen,
    dups: u64,
    frames: u64,
    bytes: u64,
    sync_bytes: u64,
    ephemeral_bytes: u64,
    doc_chunks: u64,
    /// The heads of the last `sync` of the question (the server's).
    q_heads: Vec<ChangeHash>,
    refusals: u64,
    /// Change-list entries that did not parse (the first one's error).
    bad_chunks: u64,
    bad_chunk: Option<String>,
    closed: Option<(u16, String)>,
    error: Option<String>,
}

/// Received-byte counters, summed over clients.
#[derive(Debug, Default, Clone, Copy)]
struct Bytes {
    frames: u64,
    all: u64,
    sync: u64,
    ephemeral: u64,
    doc_chunks: u64,
}

impl Bytes {
    fn add(&mut self, s: &ThinStats) {
        self.frames += s.frames;
        self.all += s.bytes;
        self.sync += s.sync_bytes;
        self.ephemeral += s.ephemeral_bytes;
        self.doc_chunks += s.doc_chunks;
    }

    fn minus(self, o: &Bytes) -> Bytes {
        Bytes {
            frames: self.frames.saturating_sub(o.frames),
            all: self.all.saturating_sub(o.all),
            sync: self.sync.saturating_sub(o.sync),
            ephemeral: self.ephemeral.saturating_sub(o.ephemeral),
            doc_chunks: self.doc_chunks.saturating_sub(o.doc_chunks),
        }
    }
}

impl ThinStats {
    /// Handles one frame; returns the heads to acknowledge, if new.
    fn on_frame(
        &mut self,
        frame: &[u8],
        now: u64,
        docs: Docs,
        acked: &mut [Option<Vec<ChangeHash>>; 2],
    ) -> Result<Option<(DocumentId, Vec<ChangeHash>)>> {
        self.frames += 1;
        self.bytes += frame.len() as u64;
        let m = match Message::decode(frame)? {
            Message::Sync(m) | Message::Request(m) => m,
            Message::Ephemeral(_) => {
                self.ephemeral_bytes += frame.len() as u64;
                return Ok(None);
            }
            Message::Refused(_) => {
                self.refusals += 1;
                return Ok(None);
            }
            _ => return Ok(None),
        };
        self.sync_bytes += frame.len() as u64;
        let msg = sync::Message::decode(&m.data)?;
        let slot = usize::from(m.document_id == docs.question);
        if m.document_id == docs.question {
            if self.board_us.is_none() && !msg.changes.is_empty() {
                self.board_us = Some(now.saturating_sub(self.connect_started));
                self.board_bytes = frame.len();
            }
            for chunk in msg.changes.iter() {
                if let Err(e) = self.read_chunks(chunk, now) {
                    self.bad_chunks += 1;
                    self.bad_chunk.get_or_insert(format!("{e:#}"));
                }
            }
            self.q_heads.clone_from(&msg.heads);
        } else if self.lock_from > 0
            && self.lock_at.is_none()
            && now >= self.lock_from
            && !msg.changes.is_empty()
        {
            // The session changes only by the lock while it is measured
            // (the server may pass it on as a change of its own).
            self.lock_at = Some(now);
        }
        if acked[slot].as_ref() == Some(&msg.heads) {
            return Ok(None);
        }
        acked[slot] = Some(msg.heads.clone());
        Ok(Some((m.document_id, msg.heads)))
    }

    /// One entry of a sync message's change list: one or more automerge
    /// chunks back to back (4 magic bytes, 4 of checksum, the type, the
    /// length as a LEB128, the data).
    fn read_chunks(&mut self, mut bytes: &[u8], now: u64) -> Result<()> {
        while !bytes.is_empty() {
            let (len, header) = leb128(bytes.get(9..).context("a chunk without a header")?)
                .context("a chunk with a bad length")?;
            let end = 9 + header + usize::try_from(len)?;
            let chunk = bytes
                .get(..end)
                .context("a chunk longer than its message")?;
            self.read_chunk(chunk, now)?;
            bytes = &bytes[end..];
        }
        Ok(())
    }

    fn read_chunk(&mut self, chunk: &[u8], now: u64) -> Result<()> {
        match chunk.get(8) {
            Some(0) => {
                self.doc_chunks += 1;
                if self.scan_docs {
                    let doc = Automerge::load(chunk)?;
                    for c in doc.get_changes_meta(&[]) {
                        if let Some(t) = c.message.as_deref().and_then(Tag::parse) {
                            self.record(t, now);
                        }
                    }
                }
            }
            Some(1) if !self.decode_changes => {
                if let Some(t) = change_message(chunk).and_then(Tag::parse) {
                    self.record(t, now);
                }
            }
            Some(1 | 2) => {
                let c = Change::from_bytes(chunk.to_vec())?;
                if let Some(t) = c.message().and_then(Tag::parse) {
                    self.record(t, now);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn record(&mut self, t: Tag, now: u64) {
        if t.seq < self.window_from {
            return;
        }
        if self.seen.insert(t.seq) {
            let l = latency(now, t.scheduled);
            self.lat.push(l);
            self.worst = self.worst.max((l, t.seq, t.scheduled));
            if l > 50_000 && std::env::var_os("FLEET_DEBUG").is_some() {
                eprintln!(
                    "slow thin delivery seq {} writer {} {} ms",
                    t.seq,
                    t.writer,
                    latency(now, t.scheduled) / 1000
                );
            }
        } else {
            self.dups += 1;
        }
    }
}

fn lock(m: &Mutex<ThinStats>) -> MutexGuard<'_, ThinStats> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One thin client: its stats and the task holding its socket.
#[derive(Debug)]
struct Thin {
    url: String,
    stats: Arc<Mutex<ThinStats>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Thin {
    fn spawn(rt: &ThinRuntime, url: String, docs: Docs) -> Self {
        Self::spawn_on(&rt.handle, url, docs)
    }

    fn spawn_on(handle: &tokio::runtime::Handle, url: String, docs: Docs) -> Self {
        let stats = Arc::new(Mutex::new(ThinStats::default()));
        let task = handle.spawn(thin_session(url.clone(), docs, stats.clone()));
        Self {
            url,
            stats,
            task: Some(task),
        }
    }

    fn ready(&self) -> bool {
        lock(&self.stats).board_us.is_some()
    }

    fn connected(&self) -> bool {
        let s = lock(&self.stats);
        s.board_us.is_some() && s.closed.is_none() && s.error.is_none()
    }

    /// Drops the socket (no close frame: like a lost network).
    fn abort(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Waits until every client has the board (or has failed), or `limit`;
/// returns how many have it.
async fn wait_ready(thins: &[Thin], limit: Duration) -> usize {
    let deadline = micros() + limit.as_micros() as u64;
    loop {
        let (mut ready, mut failed) = (0, 0);
        for t in thins {
            let s = lock(&t.stats);
            if s.board_us.is_some() {
                ready += 1;
            } else if s.closed.is_some() || s.error.is_some() {
                failed += 1;
            }
        }
        if ready + failed == thins.len() || micros() > deadline {
            return ready;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn thin_session(url: String, docs: Docs, st: Arc<Mutex<ThinStats>>) {
    {
        let mut s = lock(&st);
        s.connect_started = micros();
        s.decode_changes = DECODE_CHANGES.load(Ordering::Relaxed);
        s.board_us = None;
        s.closed = None;
        s.error = None;
    }
    match thin_connection(&url, docs, &st).await {
        Ok(closed) => lock(&st).closed = Some(closed),
        Err(e) => lock(&st).error = Some(format!("{e:#}")),
    }
}

/// One connection of a thin client; returns the close code and reason.
async fn thin_connection(url: &str, docs: Docs, st: &Mutex<ThinStats>) -> Result<(u16, String)> {
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let me = PeerId(format!("thin-{:016x}", rand::random::<u64>()));
    let join = Message::Join {
        sender_id: me.clone(),
        peer_metadata: PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
            tavolo_extensions: true,
        },
        supported_protocol_versions: vec![PROTOCOL_V1.into()],
    };
    ws.send(WsMessage::Binary(join.encode().into())).await?;
    let server = loop {
        match ws.next().await {
            Some(Ok(WsMessage::Binary(b))) => {
                if let Ok(Message::Peer { sender_id, .. }) = Message::decode(&b) {
                    break sender_id;
                }
            }
            Some(Ok(WsMessage::Close(f))) => bail!("closed during the handshake: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("connection lost during the handshake"),
        }
    };
    // What an empty document says first (as a browser opening a board).
    let first = Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .context("a first sync message")?
        .encode();
    for d in [docs.session, docs.question] {
        let m = Message::Request(DocMessage {
            sender_id: me.clone(),
            target_id: server.clone(),
            document_id: d,
            data: first.clone(),
        });
        ws.send(WsMessage::Binary(m.encode().into())).await?;
    }
    let mut acked: [Option<Vec<ChangeHash>>; 2] = [None, None];
    while let Some(frame) = ws.next().await {
        match frame? {
            WsMessage::Binary(b) => {
                let now = micros();
                let reply = lock(st).on_frame(&b, now, docs, &mut acked);
                match reply {
                    Ok(Some((doc, heads))) => {
                        let ack = Message::Sync(DocMessage {
                            sender_id: me.clone(),
                            target_id: server.clone(),
                            document_id: doc,
                            data: fanout::thin_ack(heads),
                        });
                        ws.send(WsMessage::Binary(ack.encode().into())).await?;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let mut s = lock(st);
                        s.bad_chunks += 1;
                        s.bad_chunk.get_or_insert(format!("{e:#}"));
                    }
                }
            }
            WsMessage::Close(f) => {
                return Ok(f.map_or((1005, String::new()), |f| {
                    (f.code.into(), f.reason.to_string())
                }));
            }
            _ => {}
        }
    }
    Ok((1006, "connection lost".into()))
}

// ---------------------------------------------------------------- results

#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) server: String,
    pub(crate) scenario: String,
    thin: usize,
    full: usize,
    board_changes: usize,
    load_per_s: f64,
    notes: u64,
    deliveries: u64,
    missing: u64,
    dups: u64,
    p50: u64,
    p99: u64,
    max: u64,
    thin_p99: u64,
    full_p99: u64,
    server_cpu: f64,
    window_s: f64,
    rss_kib: u64,
    hwm_kib: u64,
    bytes_per_delivery: f64,
    sync_bytes_per_delivery: f64,
    presence_bytes: u64,
    frames: u64,
    doc_chunks: u64,
    gen_cpu: f64,
    thin_cpu: f64,
    lag_p99: u64,
    lag_max: u64,
    converged: bool,
    convergence: String,
    closed: Vec<String>,
    writer_problems: Vec<String>,
    failed_clients: usize,
    extra: String,
    /// Changes from arrival to durable, during the window (Tavolo).
    durable: Option<Buckets>,
}

impl Outcome {
    const HEADER: &'static str = "| server | scenario | thin | full | board changes | changes/s | changes | deliveries | missing | p50 ms | p99 ms | max ms | → disk p99 ms | server CPU s (% core) | CPU µs/delivery | RSS / peak MiB | B/delivery (sync) | generator CPU % (thin thread) | notes |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

    fn problems(&self) -> String {
        let mut p = Vec::new();
        if !self.converged {
            p.push(format!("not converged ({})", self.convergence));
        }
        if self.missing > 0 {
            p.push(format!("{} deliveries missing", self.missing));
        }
        if self.failed_clients > 0 {
            p.push(format!("{} clients failed", self.failed_clients));
        }
        p.extend(self.writer_problems.iter().cloned());
        p.join(", ")
    }

    fn print(&self) {
        println!("{}", self.row());
        self.print_details();
    }

    /// The table row.
    fn row(&self) -> String {
        let w = self.window_s.max(1e-9);
        let per_delivery = if self.deliveries > 0 {
            format!("{:.1}", self.server_cpu * 1e6 / self.deliveries as f64)
        } else {
            "–".into()
        };
        let mut notes = Vec::new();
        if !self.extra.is_empty() {
            notes.push(self.extra.clone());
        }
        if self.notes > 0 {
            notes.push(format!(
                "writer lag p99 {:.0} ms",
                self.lag_p99 as f64 / 1e3
            ));
        }
        if !self.closed.is_empty() {
            notes.push(format!("{} thin clients closed", self.closed.len()));
        }
        notes.extend(self.writer_problems.iter().cloned());
        if !self.converged {
            notes.push(format!("NOT CONVERGED: {}", self.convergence));
        }
        format!(
            "| {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.2} ({:.0}%) | {per_delivery} | {:.0} / {:.0} | {:.0} ({:.0}) | {:.0}% ({:.0}%) | {} |",
            self.server,
            self.scenario,
            self.thin,
            self.full,
            self.board_changes,
            self.load_per_s,
            self.notes,
            self.deliveries,
            self.missing,
            self.p50 as f64 / 1e3,
            self.p99 as f64 / 1e3,
            self.max as f64 / 1e3,
            self.durable.as_ref().map_or("–".into(), |d| d.p99_label()),
            self.server_cpu,
            100.0 * self.server_cpu / w,
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0,
            self.bytes_per_delivery,
            self.sync_bytes_per_delivery,
            100.0 * self.gen_cpu / w,
            100.0 * self.thin_cpu / w,
            notes.join("; ")
        )
    }

    /// The same, in words, to stderr.
    fn print_details(&self) {
        let w = self.window_s.max(1e-9);

        eprintln!(
            "{}: {} thin + {} full clients, {} changes at {:.1}/s over {:.1} s → {} deliveries ({} missing, {} duplicate); \
             latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms (thin p99 {:.1} ms, full p99 {:.1} ms); \
             writers late p99 {:.1} ms max {:.1} ms; server CPU {:.2} s ({:.0}% of a core); \
             RSS {:.1} MiB, peak {:.1} MiB; received {} frames, {:.0} B per delivery ({:.0} B sync), presence {:.1} KiB, {} whole-document chunks; \
             generator CPU {:.2} s ({:.0}% of a core; thin thread {:.0}%); {}",
            self.scenario,
            self.thin,
            self.full,
            self.notes,
            self.load_per_s,
            self.window_s,
            self.deliveries,
            self.missing,
            self.dups,
            self.p50 as f64 / 1e3,
            self.p99 as f64 / 1e3,
            self.max as f64 / 1e3,
            self.thin_p99 as f64 / 1e3,
            self.full_p99 as f64 / 1e3,
            self.lag_p99 as f64 / 1e3,
            self.lag_max as f64 / 1e3,
            self.server_cpu,
            100.0 * self.server_cpu / w,
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0,
            self.frames,
            self.bytes_per_delivery,
            self.sync_bytes_per_delivery,
            self.presence_bytes as f64 / 1024.0,
            self.doc_chunks,
            self.gen_cpu,
            100.0 * self.gen_cpu / w,
            100.0 * self.thin_cpu / w,
            self.convergence,
        );
        if !self.closed.is_empty() {
            let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
            for c in &self.closed {
                *kinds.entry(c.as_str()).or_default() += 1;
            }
            eprintln!("  thin clients closed: {kinds:?}");
        }
        for p in &self.writer_problems {
            eprintln!("  {p}");
        }
        if let Some(d) = &self.durable {
            eprintln!(
                "  change → durable: {} changes, p50 {} ms, p99 {} ms (bucket bounds), mean {:.1} ms",
                d.count(),
                d.label(0.5),
                d.label(0.99),
                d.mean_ms()
            );
        }
    }
}

/// A Prometheus histogram as scraped: cumulative counts per upper bound
/// (seconds; the last is +Inf), and the sum.
#[derive(Debug, Clone, Default)]
struct Buckets {
    le: Vec<(f64, u64)>,
    sum: f64,
}

impl Buckets {
    fn parse(text: &str, name: &str) -> Option<Self> {
        let bucket = format!("{name}_bucket{{le=\"");
        let mut le = Vec::new();
        let mut sum = 0.0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&bucket) {
                let (bound, count) = rest.split_once("\"} ")?;
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                le.push((bound, count.trim().parse().ok()?));
            } else if let Some(v) = line.strip_prefix(&format!("{name}_sum ")) {
                sum = v.trim().parse().ok()?;
            }
        }
        (!le.is_empty()).then_some(Self { le, sum })
    }

    fn minus(&self, before: &Self) -> Self {
        let le = self
            .le
            .iter()
            .map(|&(b, c)| {
                let c0 = before.le.iter().find(|x| x.0 == b).map_or(0, |x| x.1);
                (b, c.saturating_sub(c0))
            })
            .collect();
        Self {
            le,
            sum: self.sum - before.sum,
        }
    }

    fn count(&self) -> u64 {
        self.le.last().map_or(0, |x| x.1)
    }

    fn mean_ms(&self) -> f64 {
        self.sum * 1e3 / self.count().max(1) as f64
    }

    /// The bucket bound under which a share `q` of the observations fall.
    fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = (q * n as f64).ceil() as u64;
        self.le.iter().find(|x| x.1 >= want).map(|x| x.0)
    }

    fn label(&self, q: f64) -> String {
        match self.quantile(q) {
            None => "–".into(),
            Some(b) if b.is_infinite() => {
                let last = self.le.iter().rev().nth(1).map_or(0.0, |x| x.0);
                format!("> {:.0}", last * 1e3)
            }
            Some(b) => format!("≤ {:.0}", b * 1e3),
        }
    }

    fn p99_label(&self) -> String {
        self.label(0.99)
    }
}

// ---------------------------------------------------------------- /proc

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn thread_cpu_seconds(tid: u32) -> Option<f64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{}/task/{tid}/stat", std::process::id())).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Every socket is a file descriptor here and in the server (which
/// inherits this process's limit).
fn check_open_files(clients: usize) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    let need = clients + 256;
    match soft {
        Some(limit) if limit < need => bail!(
            "{clients} clients need about {need} open files here and in the server, but the limit is {limit}: raise it first (ulimit -n {need}, up to the hard limit `ulimit -Hn`)"
        ),
        Some(limit) => {
            eprintln!("open files: limit {limit}, about {need} needed");
            Ok(())
        }
        None => Ok(()),
    }
}
