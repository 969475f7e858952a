//! Many sessions spread over several nodes on one PostgreSQL database,
//! against the same load on one node (issue 18).
//!
//! `bench nodes --nodes 1` and `--nodes 2` run the same load: `sessions`
//! sessions, each with `clients` participants writing notes at `rate`
//! notes per second for `seconds`. A session's clients all connect to one
//! node, picked by the session's position (as nginx's hash on the session
//! id does), so each node owns about half the sessions. Every client
//! receives every note of its session; two clients per session time the
//! deliveries of the others' notes. Reported: delivery latency, the nodes'
//! CPU and peak memory, and PostgreSQL's share of the machine.

use crate::{micros, percentile, proc_cpu_seconds, proc_peak_rss_kib};
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_tests::{PostgresCluster, ServerProcess, SyncClient, question_docs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server nodes sharing the database.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    #[arg(long, default_value_t = 20)]
    sessions: usize,
    /// Participants per session (each a full client writing notes).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Notes per second per client.
    #[arg(long, default_value_t = 0.2)]
    rate: f64,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// A short run that checks completion only (CI).
    #[arg(long)]
    smoke: bool,
}

pub async fn run(mut a: Args) -> Result<()> {
    if a.smoke {
        (a.sessions, a.clients, a.rate, a.seconds) = (4, 3, 1.0, 3);
    }
    let pg = PostgresCluster::start().context("starting PostgreSQL")?;
    let db = pg.create_database()?;
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..a.nodes.max(1) {
        let dir = tempfile::tempdir()?;
        let name = format!("node{}", i + 1);
        nodes.push(
            ServerProcess::start_on(
                dir.path(),
                Some(&db),
                &["--node-id", &name, "--no-rate-limits"],
            )
            .await?,
        );
        dirs.push(dir);
    }
    // Sessions and their people, each made through the node its clients
    // will use (the first to load a session owns it): as behind nginx,
    // which sends a session's calls and sockets to one node.
    let mut plan = Vec::new();
    for s in 0..a.sessions {
        let node = s % nodes.len();
        let api = nodes[node].api();
        let session = api.create_session().await?;
        let mut people = Vec::new();
        for c in 0..a.clients {
            people.push(api.join(&session.join_code, &format!("P{s}.{c}")).await?);
        }
        plan.push((node, session, people));
    }
    let mut conns = Vec::new();
    for (node, session, people) in &plan {
        let base = nodes[*node].base.replacen("http", "ws", 1);
        for (c, t) in people.iter().enumerate() {
            let url = format!("{base}/sync/{}?ticket={}", session.session_id, t.ticket);
            let mut client = SyncClient::connect(&url).await?;
            client.open(t.session_doc).await?;
            let sd = t.session_doc;
            client
                .pump_until(Duration::from_secs(30), |v| {
                    tavolo_model::SessionDoc::load(v.doc(sd)).is_ok()
                })
                .await?;
            let q = question_docs(&client.doc(sd))[0];
            client.open(q).await?;
            client
                .pump_until(Duration::from_secs(30), |v| {
                    tavolo_model::read::get_map(v.doc(q), &automerge::ROOT, "notes").is_some()
                })
                .await?;
            conns.push((
                client,
                q,
                t.participant_id.clone().unwrap_or_default(),
                c < 2,
            ));
        }
    }
    let pids: Vec<u32> = nodes.iter().filter_map(ServerProcess::pid).collect();
    let cpu = |pids: &[u32]| {
        pids.iter()
            .filter_map(|p| proc_cpu_seconds(*p))
            .sum::<f64>()
    };
    let cpu_before = cpu(&pids);
    let pg_cpu_before = postgres_cpu();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.seconds);
    let rate = a.rate;
    let mut tasks = Vec::new();
    for (i, (mut c, q, pid, observe)) in conns.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let me = ParticipantId(pid);
            let period = Duration::from_secs_f64(1.0 / rate);
            let mut next = Instant::now() + period.mul_f64((i as f64 * 0.618_034) % 1.0);
            let (mut seq, mut written) = (0_u64, 0_usize);
            let mut latencies = Vec::new();
            let mut seen = HashSet::new();
            while Instant::now() < deadline {
                if Instant::now() >= next {
                    let id = format!("n_{i}_{seq}_{}", micros());
                    seq += 1;
                    let note = NewNote {
                        text: format!("nota {i}/{seq}"),
                        category: None,
                        anonymous: false,
                        created_at: 0,
                    };
                    if c.change(q, |d| ops::add_note(d, &id, &me, &note))
                        .await
                        .is_ok()
                    {
                        written += 1;
                    }
                    next += period;
                }
                let wait = next.min(deadline).saturating_duration_since(Instant::now());
                let _ = c
                    .pump_until(wait.max(Duration::from_millis(1)), |v| {
                        if observe {
                            crate::record_deliveries(v.doc(q), i, &mut seen, &mut latencies);
                        }
                        false
                    })
                    .await;
            }
            // Let the last notes arrive before counting.
            let _ = c.pump_until(Duration::from_secs(2), |_| false).await;
            let held = tavolo_model::QuestionDoc::load(&c.doc(q)).notes.len();
            (latencies, written, held)
        }));
    }
    let mut latencies = Vec::new();
    let (mut written, mut held_min) = (0, usize::MAX);
    let mut per_session_written = vec![0_usize; a.sessions];
    let mut per_session_held = vec![usize::MAX; a.sessions];
    for (i, t) in tasks.into_iter().enumerate() {
        let (l, w, h) = t.await?;
        latencies.extend(l);
        written += w;
        let s = i / a.clients;
        per_session_written[s] += w;
        per_session_held[s] = per_session_held[s].min(h);
        held_min = held_min.min(h);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_used = cpu(&pids) - cpu_before;
    let pg_cpu = postgres_cpu() - pg_cpu_before;
    latencies.sort_unstable();
    // Every client ends with every note of its session.
    let converged = per_session_written
        .iter()
        .zip(&per_session_held)
        .all(|(w, h)| w == h);
    let rss: Vec<u64> = pids.iter().filter_map(|p| proc_peak_rss_kib(*p)).collect();
    println!(
        "nodes={} sessions={} clients/session={} rate={}/s seconds={} notes={written} \
         timed_deliveries={} p50={:.1}ms p95={:.1}ms p99={:.1}ms max={:.1}ms \
         nodes_cpu={cpu_used:.2}s ({:.0}% of one core) postgres_cpu={pg_cpu:.2}s \
         peak_rss_per_node={rss:?}KiB converged={converged}",
        nodes.len(),
        a.sessions,
        a.clients,
        a.rate,
        a.seconds,
        latencies.len(),
        percentile(&latencies, 0.50) as f64 / 1000.0,
        percentile(&latencies, 0.95) as f64 / 1000.0,
        percentile(&latencies, 0.99) as f64 / 1000.0,
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        100.0 * cpu_used / elapsed,
    );
    anyhow::ensure!(
        converged,
        "some client did not end with every note of its session"
    );
    anyhow::ensure!(written > 0, "no note was written");
    for n in nodes {
        n.kill().await?;
    }
    drop(dirs);
    Ok(())
}

/// CPU seconds of every `postgres` process on the machine (the bench's
/// cluster is the only one while it runs).
fn postgres_cpu() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(proc_cpu_seconds)
        .sum()
}
