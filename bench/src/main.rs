//! `tavolo-bench`: real clients against a real (release) server.
//!
//! `delivery`: N participants each write notes at a steady rate on the same
//! question while every one of them receives everyone's notes; a few of them
//! also time each note from the moment it was written to the moment it is in
//! their copy. Reports latency percentiles, server CPU per delivered note and
//! the server's peak memory.
//!
//!     cargo run --release -p tavolo-bench -- delivery --clients 25 --rate 0.1 --seconds 30
//!
//! `judge`: what the server's authority costs per incoming batch on a big
//! board (N notes in M clusters, with votes): the document copy the batch
//! is received into, applying it, and the policy's verdict. No network.
//!
//!     cargo run --release -p tavolo-bench -- judge --notes 300 --clusters 40
//!
//! `report`: a session of N notes from P people spread over every question
//! (categories, groups, dots), written over real sockets; then the time of
//! `GET /api/sessions/{id}/report` in every format, private and public, as
//! the facilitator's browser sees it (documents read, report built and
//! rendered, bytes over HTTP).
//!
//!     cargo run --release -p tavolo-bench -- report --notes 300 --people 40
//!
//! `load`: what the server does when a document's actor starts — the
//! snapshot plus the changes stored after it (up to the compaction
//! threshold), each checked and applied (`server::actor::load`).
//!
//!     cargo run --release -p tavolo-bench -- load --notes 1500 --changes 500

// A benchmark's job is to print its results.
#![allow(clippy::print_stdout)]

mod fanout;
mod fleet;
mod nodes;
mod relay;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_sync::DocumentId;
use tavolo_tests::{ServerProcess, SyncClient, question_docs};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Note delivery latency with N writing-and-reading clients.
    Delivery {
        #[arg(long, default_value_t = 25)]
        clients: usize,
        /// Notes per second per client.
        #[arg(long, default_value_t = 0.1)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Clients that time deliveries (all clients receive everything).
        #[arg(long, default_value_t = 3)]
        observers: usize,
    },
    /// Time to produce the report of a session this big, per format.
    Report {
        #[arg(long, default_value_t = 300)]
        notes: usize,
        #[arg(long, default_value_t = 40)]
        people: usize,
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Time to load a stored document: a snapshot and the changes after it.
    Load {
        /// Notes in the snapshot.
        #[arg(long, default_value_t = 1500)]
        notes: usize,
        /// Changes stored after the snapshot (one note each).
        #[arg(long, default_value_t = 500)]
        changes: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Cost of a purge: rewriting a board of this size without one note.
    Purge {
        #[arg(long, default_value_t = 500)]
        notes: usize,
        #[arg(long, default_value_t = 10)]
        rounds: usize,
    },
    /// The room's CPU for one note reaching N thin peers (no network).
    Fanout {
        #[arg(long, default_value_t = 500)]
        peers: usize,
        #[arg(long, default_value_t = 1000)]
        notes: usize,
        /// Times each note is moved after it is written (history depth).
        #[arg(long, default_value_t = 11)]
        edits: usize,
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
    /// One session with many clients over real sockets: thousands of thin
    /// clients (a WebSocket each, no document) and a few full writers.
    Fleet(fleet::Args),
    /// The plain relay `fleet --servers relay` measures against (started
    /// by the bench itself).
    #[command(hide = true)]
    RelayServer,
    /// Many sessions over several nodes on one PostgreSQL database, against
    /// the same load on one node.
    Nodes(nodes::Args),
    /// Cost of judging one participant's batch on a board of this size.
    Judge {
        #[arg(long, default_value_t = 300)]
        notes: usize,
        #[arg(long, default_value_t = 40)]
        clusters: usize,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
}

/// The forty participants the in-process benchmarks write as.
fn bench_people() -> Vec<ParticipantId> {
    (0..40).map(|i| ParticipantId(format!("p_{i}"))).collect()
}

/// The `n`th note of an in-process benchmark board (one in seven anonymous).
fn bench_note(n: usize) -> NewNote {
    NewNote {
        text: format!("Nota numero {n}, con un testo di lunghezza realistica per una sessione"),
        category: None,
        anonymous: n.is_multiple_of(7),
        created_at: n as i64,
    }
}

/// Builds a board the way people do (one change per note, one in seven
/// anonymous), removes one note, and times what the server does to purge
/// it: finding it (`reroot::plan`), rewriting the board (`rebuild`) and
/// encoding the snapshot it stores.
fn purge(notes: usize, rounds: usize) -> Result<()> {
    use automerge::AutoCommit;
    use tavolo_sync::reroot;
    let people = bench_people();
    let mut doc = AutoCommit::new();
    ops::init_question_doc(&mut doc)?;
    doc.commit();
    for n in 0..notes {
        let new = bench_note(n);
        ops::add_note(&mut doc, &format!("n_{n}"), &people[n % people.len()], &new)?;
        doc.commit();
    }
    ops::remove_note(&mut doc, "n_1", None, 1)?;
    doc.commit();
    let board = doc.document().clone();
    let writers: std::collections::HashMap<String, String> = (0..notes)
        .map(|n| (format!("n_{n}"), people[n % people.len()].0.clone()))
        .collect();
    let (mut plan_us, mut rebuild_us, mut save_us) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let history = tavolo_model::policy::History::of(&board, &|_| None);
        let plan = reroot::plan(&board, &history).context("a purge is due")?;
        let t1 = Instant::now();
        let rebuilt = reroot::rebuild(&board, &plan, |id| writers.get(id).cloned())?;
        let t2 = Instant::now();
        let new = rebuilt.doc;
        bytes = new.save().len();
        let t3 = Instant::now();
        plan_us.push((t1 - t0).as_micros() as u64);
        rebuild_us.push((t2 - t1).as_micros() as u64);
        save_us.push((t3 - t2).as_micros() as u64);
    }
    for v in [&mut plan_us, &mut rebuild_us, &mut save_us] {
        v.sort_unstable();
    }
    let p50 = |v: &[u64]| v[v.len() / 2];
    println!(
        "purge of one note on a board of {notes} notes ({} changes): find {} µs, rewrite {} µs, snapshot {} µs ({bytes} bytes), p50 of {rounds}",
        board.get_changes(&[]).len(),
        p50(&plan_us),
        p50(&rebuild_us),
        p50(&save_us)
    );
    Ok(())
}

/// Builds a board the way people do (one change per edit), then times the
/// server's work for `rounds` one-note batches from a participant.
fn judge(notes: usize, clusters: usize, rounds: usize) -> Result<()> {
    use automerge::AutoCommit;
    use tavolo_model::policy::{self, Role};
    let people = bench_people();
    let mut doc = AutoCommit::new();
    ops::init_question_doc(&mut doc)?;
    doc.commit();
    for c in 0..clusters {
        ops::create_cluster(&mut doc, &format!("c_{c}"), &format!("Gruppo {c}"))?;
        doc.commit();
    }
    ops::set_voting(&mut doc, true, Some(3))?;
    doc.commit();
    for n in 0..notes {
        let new = bench_note(n);
        let id = format!("n_{n}");
        ops::add_note(&mut doc, &id, &people[n % people.len()], &new)?;
        doc.commit();
        if clusters > 0 {
            ops::set_note_cluster(&mut doc, &id, Some(&format!("c_{}", n % clusters)))?;
            doc.commit();
        }
    }
    for (i, p) in people.iter().enumerate() {
        ops::set_vote(&mut doc, &format!("n_{}", (i * 7) % notes.max(1)), p, 2)?;
        doc.commit();
    }
    let server = doc.document().clone();
    let ctx = question_ctx();
    let me = people[0].clone();
    let mut client = doc.fork();
    let mut clone_us = Vec::with_capacity(rounds);
    let mut total_us = Vec::with_capacity(rounds);
    let mut server = server;
    // What the room keeps: the ids the history used, read once.
    let mut history = policy::History::of(&server, &|_| None);
    for r in 0..rounds {
        let new = NewNote {
            text: format!("Nuova nota {r}"),
            category: None,
            anonymous: false,
            created_at: 0,
        };
        ops::add_note(&mut client, &format!("n_new_{r}"), &me, &new)?;
        client.commit();
        let changes: Vec<automerge::Change> = server.get_changes_added(client.document());
        let t0 = Instant::now();
        let mut copy = server.clone();
        let t1 = Instant::now();
        copy.apply_changes(changes.clone())?;
        let added = server.get_changes_added(&copy);
        if added.len() != 1 {
            anyhow::bail!("expected one new change, got {}", added.len());
        }
        policy::check_with(
            &server,
            &copy,
            &added,
            &Role::Participant(me.clone()),
            &ctx,
            &history,
        )
        .map_err(|e| anyhow::anyhow!("refused: {e}"))?;
        history.record(&copy, &added, &|_| None);
        let t2 = Instant::now();
        server = copy;
        clone_us.push((t1 - t0).as_micros() as u64);
        total_us.push((t2 - t0).as_micros() as u64);
    }
    clone_us.sort_unstable();
    total_us.sort_unstable();
    let pct = |v: &[u64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let board = tavolo_model::QuestionDoc::load(&server);
    println!(
        "judge: {} notes in {} clusters, {} changes in history, {} KiB saved",
        board.notes.len(),
        board.clusters.len(),
        server.get_changes(&[]).len(),
        server.save().len() / 1024
    );
    println!(
        "  per one-note batch: total p50 {} µs, p99 {} µs, max {} µs; of which the copy p50 {} µs",
        pct(&total_us, 0.5),
        pct(&total_us, 0.99),
        total_us[total_us.len() - 1],
        pct(&clone_us, 0.5)
    );
    Ok(())
}

/// Times the notes of `doc` not seen before and not written by client
/// `me`: their ids are `n_<writer>_<seq>_<micros when sent>`.
pub fn record_deliveries(
    doc: &automerge::AutoCommit,
    me: usize,
    seen: &mut std::collections::HashSet<String>,
    latencies: &mut Vec<u64>,
) {
    let Some(notes) = tavolo_model::read::get_map(doc, &automerge::ROOT, "notes") else {
        return;
    };
    let now = micros();
    for key in tavolo_model::read::keys(doc, &notes) {
        if !seen.insert(key.clone()) {
            continue;
        }
        let mut parts = key.split('_');
        let (_, w, _, t) = (parts.next(), parts.next(), parts.next(), parts.next());
        if w.and_then(|w| w.parse::<usize>().ok()) != Some(me)
            && let Some(sent) = t.and_then(|t| t.parse::<u64>().ok())
        {
            latencies.push(now.saturating_sub(sent));
        }
    }
}

static START: OnceLock<Instant> = OnceLock::new();

fn micros() -> u64 {
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The policy context of an open question without categories, budget 3.
pub fn question_ctx() -> tavolo_model::policy::PolicyContext {
    tavolo_model::policy::PolicyContext {
        kind: tavolo_model::policy::DocKind::Question {
            phase_id: "p".into(),
            categories: Vec::new(),
        },
        phase_locked: false,
        vote_budget: 3,
    }
}

/// Builds the release server (unless `TAVOLO_SERVER_BIN` names one) and
/// makes the harness use it.
fn release_server() -> Result<()> {
    if std::env::var_os("TAVOLO_SERVER_BIN").is_some() {
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "tavolo-server"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("building the release server failed");
    }
    tavolo_tests::use_server_bin(root.join("target/release/tavolo-server"));
    Ok(())
}

fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn proc_peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn delivery(clients: usize, rate: f64, seconds: u64, observers: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start_with(dir.path(), &["--no-rate-limits"]).await?;
    let pid = server.pid().context("server pid")?;
    let api = server.api();
    let session = api.create_session().await?;
    let mut joined = Vec::new();
    for i in 0..clients {
        joined.push(
            api.join(&session.join_code, &format!("Persona {i}"))
                .await?,
        );
    }
    // Connect everyone and open the first question.
    let mut conns = Vec::new();
    let mut question = None;
    for t in &joined {
        let mut c = SyncClient::connect(&server.ws_url(&t.ticket)).await?;
        c.open(t.session_doc).await?;
        let sd = t.session_doc;
        c.pump_until(Duration::from_secs(30), |v| {
            tavolo_model::SessionDoc::load(v.doc(sd)).is_ok()
        })
        .await?;
        let q = *question.get_or_insert_with(|| question_docs(&c.doc(sd))[0]);
        c.open(q).await?;
        c.pump_until(Duration::from_secs(30), |v| {
            tavolo_model::read::get_map(v.doc(q), &automerge::ROOT, "notes").is_some()
        })
        .await?;
        conns.push((c, t.participant_id.clone().unwrap_or_default()));
    }
    let q: DocumentId = question.context("no question")?;
    let expected = (clients as f64 * rate * seconds as f64).round() as usize;
    eprintln!("{clients} clients connected; writing ~{expected} notes over {seconds} s");

    let cpu_before = proc_cpu_seconds(pid).unwrap_or(0.0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, (mut c, pid_str)) in conns.into_iter().enumerate() {
        let observe = i < observers;
        tasks.push(tokio::spawn(async move {
            let me = ParticipantId(pid_str);
            let period = Duration::from_secs_f64(1.0 / rate);
            // Spread the writers' phases over one period.
            let offset = period.mul_f64((i as f64 * 0.618_034) % 1.0);
            let mut next = Instant::now() + offset;
            let mut seq = 0_u64;
            let mut latencies: Vec<u64> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                if now >= next {
                    let id = format!("n_{i}_{seq}_{}", micros());
                    seq += 1;
                    let note = NewNote {
                        text: format!("nota {i}/{seq}"),
                        category: None,
                        anonymous: false,
                        created_at: 0,
                    };
                    let _ = c.change(q, |d| ops::add_note(d, &id, &me, &note)).await;
                    next += period;
                }
                let wait = next.min(deadline).saturating_duration_since(Instant::now());
                // Wake on any incoming message (to time deliveries) or at the next write.
                let _ = c
                    .pump_until(wait.max(Duration::from_millis(1)), |v| {
                        if observe {
                            record_deliveries(v.doc(q), i, &mut seen, &mut latencies);
                        }
                        false
                    })
                    .await;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = proc_cpu_seconds(pid).unwrap_or(0.0) - cpu_before;
    all.sort_unstable();
    let deliveries_total = expected * clients.saturating_sub(1);
    println!(
        "delivery clients={clients} rate={rate}/s seconds={seconds} timed_deliveries={} \
         p50={:.1}ms p95={:.1}ms p99={:.1}ms max={:.1}ms server_cpu={:.2}s ({:.0}% of one core) \
         cpu_per_delivery≈{:.0}µs peak_rss={}KiB",
        all.len(),
        percentile(&all, 0.50) as f64 / 1000.0,
        percentile(&all, 0.95) as f64 / 1000.0,
        percentile(&all, 0.99) as f64 / 1000.0,
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
        cpu,
        100.0 * cpu / elapsed,
        if deliveries_total > 0 {
            cpu * 1e6 / deliveries_total as f64
        } else {
            0.0
        },
        proc_peak_rss_kib(pid).unwrap_or(0),
    );
    server.kill().await?;
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    START.get_or_init(Instant::now);
    if let Command::Judge {
        notes,
        clusters,
        rounds,
    } = cli.command
    {
        return judge(notes, clusters, rounds);
    }
    if let Command::Load {
        notes,
        changes,
        rounds,
    } = cli.command
    {
        return load(notes, changes, rounds);
    }
    if let Command::Purge { notes, rounds } = cli.command {
        return purge(notes, rounds);
    }
    if let Command::Fanout {
        peers,
        notes,
        edits,
        rounds,
    } = cli.command
    {
        return fanout::run(peers, notes, edits, rounds);
    }
    if let Command::RelayServer = cli.command {
        return relay::run();
    }
    if let Command::Fleet(args) = cli.command {
        release_server()?;
        return fleet::run(args);
    }
    release_server()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Delivery {
                clients,
                rate,
                seconds,
                observers,
            } => delivery(clients, rate, seconds, observers).await,
            Command::Report {
                notes,
                people,
                rounds,
            } => report(notes, people, rounds).await,
            Command::Nodes(args) => nodes::run(args).await,
            Command::Judge { .. }
            | Command::Load { .. }
            | Command::Purge { .. }
            | Command::Fanout { .. }
            | Command::Fleet(_)
            | Command::RelayServer => Ok(()),
        }
    })
}

/// Writes a realistic session over real sockets, then times its report.
async fn report(notes: usize, people: usize, rounds: usize) -> Result<()> {
    use tavolo_model::SessionDoc;
    const SECTORS: [&str; 3] = ["public", "social_private", "community"];
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start_with(dir.path(), &["--no-rate-limits"]).await?;
    let pid = server.pid().context("server pid")?;
    let api = server.api();
    let session = api.create_session().await?;
    let mut ids = Vec::new();
    for i in 0..people.max(1) {
        let person = serde_json::json!({
            "name": format!("Persona {i}"),
            "organization": format!("Organizzazione {}", i % 12),
            "sector": SECTORS[i % 3],
            "tier": if i % 2 == 0 { "founding_core" } else { "strategic_extension" },
            "attendance": if i % 4 == 0 { "remote" } else { "in_room" },
        });
        let t = api.join_with(&session.join_code, &person).await?;
        ids.push(ParticipantId(t.participant_id.unwrap_or_default()));
    }
    // The facilitator may write anything: it lays the board down quickly.
    let fac_ticket = api.facilitator(&session).await?;
    let mut fac = SyncClient::connect(&server.ws_url(&fac_ticket.ticket)).await?;
    let sd = session.session_doc;
    fac.open(sd).await?;
    fac.pump_until(Duration::from_secs(30), |v| {
        SessionDoc::load(v.doc(sd)).is_ok()
    })
    .await?;
    let s = SessionDoc::load(&fac.doc(sd))?;
    let questions: Vec<(DocumentId, Vec<String>)> = s
        .phases
        .iter()
        .flat_map(|p| &p.questions)
        .map(|q| {
            let cats = q.categories.iter().map(|c| c.id.clone()).collect();
            DocumentId::from_url(&q.doc_url).map(|id| (id, cats))
        })
        .collect::<Result<_, _>>()?;
    let per_question = notes.div_ceil(questions.len());
    let mut written = 0;
    for (qi, (q, cats)) in questions.iter().enumerate() {
        fac.open(*q).await?;
        let q = *q;
        fac.pump_until(Duration::from_secs(30), |v| {
            tavolo_model::read::get_map(v.doc(q), &automerge::ROOT, "notes").is_some()
        })
        .await?;
        let count = per_question.min(notes - written);
        // Ten notes per change, as a busy room's batches.
        for chunk in (0..count).collect::<Vec<_>>().chunks(10) {
            let chunk = chunk.to_vec();
            let ids = ids.clone();
            let cats = cats.clone();
            fac.change(q, move |d| {
                for n in chunk {
                    let author = &ids[(qi * 7 + n) % ids.len()];
                    let new = NewNote {
                        text: format!("Nota {n} della domanda {qi}: un testo di lunghezza realistica, con accenti è à ù"),
                        category: (!cats.is_empty()).then(|| cats[n % cats.len()].clone()),
                        anonymous: n % 6 == 0,
                        created_at: 1_700_000_000_000 + n as i64,
                    };
                    let id = format!("n_{qi}_{n}");
                    let _ = ops::add_note(d, &id, author, &new);
                    if n % 8 == 0 {
                        let _ = ops::create_cluster_with(d, &format!("c_{qi}_{n}"), &format!("Gruppo {n}"), &[id.as_str()]);
                    } else if n % 8 < 4 {
                        let _ = ops::set_note_cluster(d, &id, Some(&format!("c_{qi}_{}", n - n % 8)));
                    }
                    let _ = ops::set_vote(d, &id, author, (n % 3) as i64);
                }
            })
            .await?;
        }
        written += count;
    }
    // A fresh client seeing every note means the server has them all.
    let mut check = SyncClient::connect(&server.ws_url(&fac_ticket.ticket)).await?;
    for (q, _) in &questions {
        check.open(*q).await?;
    }
    let qs: Vec<DocumentId> = questions.iter().map(|(q, _)| *q).collect();
    check
        .pump_until(Duration::from_secs(60), |v| {
            qs.iter()
                .map(|q| tavolo_model::QuestionDoc::load(v.doc(*q)).notes.len())
                .sum::<usize>()
                == written
        })
        .await?;
    eprintln!(
        "{written} notes by {people} people over {} questions; timing reports",
        qs.len()
    );
    let auth = format!("Bearer {}", session.facilitator_key);
    println!("report: {written} notes, {people} people, {rounds} requests each (warm)");
    for public in [false, true] {
        for format in ["md", "csv", "json", "html"] {
            let path = format!(
                "/api/sessions/{}/report?format={format}&public={public}",
                session.session_id
            );
            let mut ms = Vec::with_capacity(rounds);
            let mut bytes = 0;
            for _ in 0..rounds.max(1) {
                let t0 = Instant::now();
                let got = api.get_authorized(&path, Some(&auth)).await?;
                ms.push(t0.elapsed().as_micros() as u64);
                if got.status != 200 {
                    bail!("{path}: {} {}", got.status, got.body);
                }
                bytes = got.body.len();
            }
            ms.sort_unstable();
            println!(
                "  {:<7} {format:<4}  p50 {:>6.1} ms  p95 {:>6.1} ms  {:>7} KiB",
                if public { "public" } else { "private" },
                percentile(&ms, 0.5) as f64 / 1000.0,
                percentile(&ms, 0.95) as f64 / 1000.0,
                bytes / 1024
            );
        }
    }
    println!(
        "  server peak RSS {} MiB",
        proc_peak_rss_kib(pid).unwrap_or(0) / 1024
    );
    server.kill().await?;
    Ok(())
}

/// Builds a stored question document (a snapshot of `notes` notes, then
/// `changes` one-note changes) and times the server's load of it.
fn load(notes: usize, changes: usize, rounds: usize) -> Result<()> {
    use automerge::AutoCommit;
    use tavolo_server::registry::DocRole;
    use tavolo_server::storage::{StoredChange, StoredDoc};
    let author = ParticipantId("p_bench".into());
    let note = |n: usize| NewNote {
        text: format!("Nota numero {n}, con un testo di lunghezza realistica per una sessione"),
        category: None,
        anonymous: false,
        created_at: n as i64,
    };
    let mut doc = AutoCommit::new();
    ops::init_question_doc(&mut doc)?;
    doc.commit();
    for n in 0..notes {
        ops::add_note(&mut doc, &format!("n_{n}"), &author, &note(n))?;
        doc.commit();
    }
    let snapshot = doc.save();
    let heads = doc.get_heads();
    for n in notes..notes + changes {
        ops::add_note(&mut doc, &format!("n_{n}"), &author, &note(n))?;
        doc.commit();
    }
    let stored: Vec<StoredChange> = doc
        .get_changes(&heads)
        .into_iter()
        .enumerate()
        .map(|(i, c)| StoredChange {
            seq: i as i64,
            hash: c.hash().0.to_vec(),
            data: c.raw_bytes().to_vec(),
        })
        .collect();
    let mut ms = Vec::new();
    for _ in 0..rounds.max(1) {
        let input = StoredDoc {
            snapshot: Some(snapshot.clone()),
            changes: stored.clone(),
        };
        let t0 = Instant::now();
        let loaded = tavolo_server::actor::load(DocRole::Question, input);
        ms.push(t0.elapsed().as_micros() as u64);
        let doc = loaded.doc.map_err(|e| anyhow::anyhow!(e))?;
        if !loaded.bad.is_empty() || loaded.loose != changes {
            bail!(
                "load set aside {} chunks, {} loose",
                loaded.bad.len(),
                loaded.loose
            );
        }
        let n = tavolo_model::QuestionDoc::load(&doc).notes.len();
        if n != notes + changes {
            bail!("loaded {n} notes, expected {}", notes + changes);
        }
    }
    ms.sort_unstable();
    println!(
        "load: snapshot of {notes} notes ({} KiB) + {changes} changes: p50 {:.1} ms, max {:.1} ms ({:.2} ms per change)",
        snapshot.len() / 1024,
        percentile(&ms, 0.5) as f64 / 1000.0,
        ms[ms.len() - 1] as f64 / 1000.0,
        percentile(&ms, 0.5) as f64 / 1000.0 / changes.max(1) as f64,
    );
    Ok(())
}
