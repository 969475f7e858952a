//! Several nodes on one PostgreSQL database (issue 18): one owner per
//! session, clients on any node converge, the owner's death or partition
//! moves the session to another node without losing an acknowledged note,
//! and a stale owner never writes after the takeover.
//!
//! Real processes throughout: PostgreSQL from Debian's packages, the server
//! binary, nginx (through `scripts/cluster.sh`, the loopback topology), and
//! real WebSockets.

use crate::helpers::*;
use automerge::AutoCommit;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tavolo_sync::DocumentId;
use tavolo_tests::{PostgresCluster, ServerProcess, Session, SyncClient, Ticket, server_bin};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Leases short enough for a test to wait out, long enough for a loaded
/// machine to renew them (every third of it).
const LEASE_MS: &str = "1500";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn note_ids(doc: &AutoCommit) -> BTreeSet<String> {
    tavolo_model::QuestionDoc::load(doc)
        .notes
        .keys()
        .cloned()
        .collect()
}

/// `(owner, token)` of a session's lease.
fn lease(pg: &PostgresCluster, db: &str, session: &str) -> Option<(String, i64)> {
    let out = pg
        .psql(
            db,
            &format!(
                "SELECT owner || '|' || token FROM session_leases WHERE session_id = '{session}'"
            ),
        )
        .expect("psql");
    let line = out.lines().next()?.trim().to_string();
    let (owner, token) = line.split_once('|')?;
    Some((owner.to_string(), token.parse().ok()?))
}

fn lease_rows(pg: &PostgresCluster, db: &str) -> usize {
    pg.psql(db, "SELECT count(*) FROM session_leases")
        .expect("psql")
        .trim()
        .parse()
        .unwrap()
}

/// A node of a test cluster: its own data directory, a fixed name.
async fn node(db: &str, name: &str, extra: &[&str]) -> (ServerProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--node-id",
        name,
        "--lease-ms",
        LEASE_MS,
        "--no-rate-limits",
    ];
    args.extend_from_slice(extra);
    let server = ServerProcess::start_on(dir.path(), Some(db), &args)
        .await
        .expect("node starts");
    (server, dir)
}

fn socket_url(base: &str, session: &str, ticket: &str) -> String {
    format!(
        "{}/sync/{session}?ticket={ticket}",
        base.replacen("http", "ws", 1)
    )
}

/// Connects (again) with `docs`, retrying while the session is between
/// owners; returns once the session document is there.
async fn reconnect(
    url: &str,
    ticket: &Ticket,
    docs: Vec<(DocumentId, AutoCommit)>,
    within: Duration,
) -> SyncClient {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let attempt = async {
            let mut c = SyncClient::connect_with(url, docs.clone()).await?;
            c.open(ticket.session_doc).await?;
            let sd = ticket.session_doc;
            c.pump_until(Duration::from_secs(3), |c| {
                tavolo_model::SessionDoc::load(c.doc(sd)).is_ok()
            })
            .await?;
            anyhow::Ok(c)
        }
        .await;
        match attempt {
            Ok(c) => return c,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("could not reconnect to {url} within {within:?}: {e:#}"),
        }
    }
}

/// A fresh client on node `base`, the session document synced.
async fn connect_on(base: &str, s: &Session, t: &Ticket) -> SyncClient {
    reconnect(&socket_url(base, &s.session_id, &t.ticket), t, vec![], WAIT).await
}

async fn join(base: &str, s: &Session, name: &str) -> Ticket {
    tavolo_tests::Api::new(base)
        .join(&s.join_code, name)
        .await
        .expect("joins")
}

#[tokio::test]
async fn two_nodes_cold_loading_one_session_at_once_make_one_owner_and_their_clients_converge() {
    let pg = PostgresCluster::shared();
    let db = pg.create_database().unwrap();
    let (n1, _d1) = node(&db, "node1", &[]).await;
    let (n2, _d2) = node(&db, "node2", &[]).await;
    for round in 0..3 {
        let s = n1.api().create_session().await.unwrap();
        // Creating a session loads nothing: nobody owns it yet.
        assert_eq!(lease(pg, &db, &s.session_id), None);
        let f1 = n1.api().facilitator(&s).await.unwrap();
        let f2 = n2.api().facilitator(&s).await.unwrap();
        // Both nodes load the session at the same moment.
        let (u1, u2) = (
            socket_url(&n1.base, &s.session_id, &f1.ticket),
            socket_url(&n2.base, &s.session_id, &f2.ticket),
        );
        let (a, b) = tokio::join!(
            reconnect(&u1, &f1, vec![], WAIT),
            reconnect(&u2, &f2, vec![], WAIT),
        );
        let (owner, token) = lease(pg, &db, &s.session_id).expect("one lease");
        assert!(owner == "node1" || owner == "node2", "{owner}");
        assert_eq!(
            token, 1,
            "round {round}: the lease changed hands during a cold load"
        );
        drop((a, b));

        // Participants joining through either node (a join is passed to the
        // owner) write on either node and see each other's notes.
        let ta = join(&n1.base, &s, "Ada").await;
        let tb = join(&n2.base, &s, "Bruno").await;
        let mut ada = connect_on(&n1.base, &s, &ta).await;
        let mut bruno = connect_on(&n2.base, &s, &tb).await;
        let q = first_question(&ada, ta.session_doc);
        open_question(&mut ada, q).await;
        open_question(&mut bruno, q).await;
        let (pa, pb) = (
            ta.participant_id.clone().unwrap(),
            tb.participant_id.clone().unwrap(),
        );
        for i in 0..5 {
            add_note(&mut ada, q, &pa, &format!("a{i}"), &format!("di Ada {i}")).await;
            add_note(
                &mut bruno,
                q,
                &pb,
                &format!("b{i}"),
                &format!("di Bruno {i}"),
            )
            .await;
        }
        for c in [&mut ada, &mut bruno] {
            c.pump_until(WAIT, |c| note_ids(c.doc(q)).len() == 10)
                .await
                .expect("both nodes' clients see all ten notes");
        }
        assert_eq!(
            lease(pg, &db, &s.session_id).map(|l| l.1),
            Some(1),
            "still the first owner"
        );
    }
    // The owners measured their PostgreSQL commits.
    let mut commits = 0.0;
    for n in [&n1, &n2] {
        let m = n.api().get_authorized("/metrics", None).await.unwrap();
        commits += m
            .body
            .lines()
            .find_map(|l| l.strip_prefix("tavolo_commit_seconds_count "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    assert!(commits >= 10.0, "{commits} commits measured for 30 notes");
    assert_eq!(lease_rows(pg, &db), 3);
}

/// A TCP relay between a node and PostgreSQL that the test can cut: the
/// node's connections drop and new ones are refused, as on a partition.
struct Cable {
    addr: std::net::SocketAddr,
    cut: Arc<AtomicBool>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Cable {
    async fn to(port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        {
            let cut = cut.clone();
            let tasks = tasks.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    // Checked and registered under the lock `cut` takes, so
                    // a connection accepted as the cable is cut cannot slip
                    // through unregistered (it once did, and the cut-off
                    // node kept a working database connection).
                    let mut held = tasks.lock().unwrap();
                    if cut.load(Ordering::SeqCst) {
                        drop(held);
                        let _ = inbound.shutdown().await;
                        continue;
                    }
                    held.push(tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
                }
            });
        }
        Self { addr, cut, tasks }
    }

    fn cut(&self) {
        let mut held = self.tasks.lock().unwrap();
        self.cut.store(true, Ordering::SeqCst);
        for t in held.drain(..) {
            t.abort();
        }
    }

    fn mend(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Ada on node1, whose PostgreSQL connection runs through a cable the test
/// can cut, and which owns the session once she is there; Bruno on node2,
/// bridged to node1; both with the first question open.
struct CutOffPair {
    pg: &'static PostgresCluster,
    db: String,
    cable: Cable,
    n1: ServerProcess,
    n2: ServerProcess,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    s: Session,
    ta: Ticket,
    tb: Ticket,
    ada: SyncClient,
    bruno: SyncClient,
    q: DocumentId,
    /// node1's lease token.
    token: i64,
}

async fn ada_on_a_cuttable_node1_bruno_on_node2() -> CutOffPair {
    let pg = PostgresCluster::shared();
    let db = pg.create_database().unwrap();
    let cable = Cable::to(pg.port()).await;
    let db_via_cable = db.replace(&format!("127.0.0.1:{}", pg.port()), &cable.addr.to_string());
    let (n1, d1) = node(&db_via_cable, "node1", &[]).await;
    let (n2, d2) = node(&db, "node2", &[]).await;
    let s = n1.api().create_session().await.unwrap();
    let ta = join(&n1.base, &s, "Ada").await;
    let tb = join(&n2.base, &s, "Bruno").await;
    let mut ada = connect_on(&n1.base, &s, &ta).await;
    let q = first_question(&ada, ta.session_doc);
    open_question(&mut ada, q).await;
    let (owner, token) = lease(pg, &db, &s.session_id).unwrap();
    assert_eq!(owner, "node1");
    let mut bruno = connect_on(&n2.base, &s, &tb).await;
    open_question(&mut bruno, q).await;
    CutOffPair {
        pg,
        db,
        cable,
        n1,
        n2,
        _dirs: (d1, d2),
        s,
        ta,
        tb,
        ada,
        bruno,
        q,
        token,
    }
}

/// Waits until a session's lease has expired by the database's clock
/// (generously: a loaded machine delays everything; the lease is 1.5 s).
async fn await_lease_expired(pg: &PostgresCluster, db: &str, session: &str) {
    let expired =
        format!("SELECT expires_at < now() FROM session_leases WHERE session_id = '{session}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pg.psql(db, &expired).unwrap().trim() != "t" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client drops its connection and connects to the node at `base` with
/// the copies it has of the session document and question `q` (what the
/// web client does from its local store), with `q` open again.
async fn move_with_his_copy(
    client: SyncClient,
    base: &str,
    s: &Session,
    t: &Ticket,
    q: DocumentId,
) -> SyncClient {
    let docs = vec![
        (t.session_doc, client.doc(t.session_doc)),
        (q, client.doc(q)),
    ];
    drop(client);
    let url = socket_url(base, &s.session_id, &t.ticket);
    let mut moved = reconnect(&url, t, docs, Duration::from_secs(30)).await;
    open_question(&mut moved, q).await;
    moved
}

#[tokio::test]
async fn an_owner_cut_off_from_postgresql_stops_writing_and_another_node_takes_over() {
    let CutOffPair {
        pg,
        db,
        cable,
        n1: _n1,
        n2,
        _dirs,
        s,
        ta,
        tb,
        mut ada,
        mut bruno,
        q,
        token,
    } = ada_on_a_cuttable_node1_bruno_on_node2().await;
    let pa = ta.participant_id.clone().unwrap();
    for i in 0..5 {
        add_note(
            &mut ada,
            q,
            &pa,
            &format!("before{i}"),
            &format!("prima {i}"),
        )
        .await;
    }
    bruno
        .pump_until(WAIT, |c| note_ids(c.doc(q)).len() == 5)
        .await
        .expect("Bruno sees Ada's notes through node2");

    // node1 loses PostgreSQL. What Ada writes now cannot be made durable:
    // nobody may see it, and node1 must never write it later.
    cable.cut();
    for i in 0..5 {
        add_note(&mut ada, q, &pa, &format!("after{i}"), &format!("dopo {i}")).await;
    }
    // node1 cannot renew its lease: it expires (by the database's clock)
    // within one lease of the cut.
    await_lease_expired(pg, &db, &s.session_id).await;
    // node1 gives the session up (it could not renew its lease) and tells
    // its clients to go elsewhere; Bruno's bridged socket closes. Nothing
    // node1 held unsaved may have reached him on the way out: a client
    // holding a change the new owner never stored would have every later
    // change of its own wait on it (this happened, 1 run in 4).
    bruno
        .closed(Duration::from_secs(30))
        .await
        .expect("node1 closes the bridged socket once it gives the session up");
    let leaked: Vec<String> = note_ids(&bruno.doc(q))
        .into_iter()
        .filter(|n| n.starts_with("after"))
        .collect();
    assert!(
        leaked.is_empty(),
        "notes the cut-off owner never stored reached Bruno: {leaked:?}"
    );
    // Bruno reconnects to node2, which takes the session.
    let mut bruno = move_with_his_copy(bruno, &n2.base, &s, &tb, q).await;
    let (owner2, token2) = lease(pg, &db, &s.session_id).expect("a lease");
    assert_eq!(owner2, "node2", "node2 did not take over");
    assert!(token2 > token);
    // node1 comes back: whatever it still held is refused by the fence.
    cable.mend();
    tokio::time::sleep(Duration::from_millis(3 * 1500)).await;
    let pb = tb.participant_id.clone().unwrap();
    add_note(&mut bruno, q, &pb, "bruno", "di Bruno, dopo").await;
    // Bruno's own copy has his note at once; the database has it once node2
    // stored it (reading it back earlier made this test fail now and then).
    let deadline = tokio::time::Instant::now() + WAIT;
    let stored = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stored = note_ids(&stored_doc(&db, q).await);
        if stored.contains("bruno") {
            break stored;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node2 never stored Bruno's note: {stored:?}; session {} lease {:?}; bruno sees {:?}",
            s.session_id,
            lease(pg, &db, &s.session_id),
            note_ids(&bruno.doc(q)),
        );
    };
    let seen = note_ids(&bruno.doc(q));
    for i in 0..5 {
        assert!(
            seen.contains(&format!("before{i}")),
            "an acknowledged note was lost"
        );
        assert!(
            !seen.contains(&format!("after{i}")),
            "a note written to the cut-off owner reached the database: {seen:?}"
        );
    }
    // What the database holds, read back: no trace of those notes either.
    assert!(stored.contains("before0"), "{stored:?}");
    assert!(
        stored.iter().all(|n| !n.starts_with("after")),
        "the stale owner wrote after the takeover: {stored:?}"
    );
    drop(ada);
}

/// The database stops answering the owner's renewal (here a row lock on
/// its lease; a stalled disk or a silent network look the same to it): the
/// owner must give the session up within its lease, as when the database
/// is unreachable, rather than wait on the statement and keep serving a
/// session another node may take. (It waited: the renewal had no time
/// limit, and this test's socket stayed open for as long as the lock.)
#[tokio::test]
async fn an_owner_whose_renewal_gets_no_answer_gives_the_session_up() {
    let pg = PostgresCluster::shared();
    let db = pg.create_database().unwrap();
    let (n1, _d1) = node(&db, "node1", &[]).await;
    let s = n1.api().create_session().await.unwrap();
    let ta = join(&n1.base, &s, "Ada").await;
    let mut ada = connect_on(&n1.base, &s, &ta).await;
    assert_eq!(lease(pg, &db, &s.session_id).unwrap().0, "node1");
    let hold = Duration::from_secs(10);
    let lock = format!(
        "BEGIN; SELECT 1 FROM session_leases WHERE session_id = '{}' FOR UPDATE; \
         SELECT pg_sleep({}); COMMIT;",
        s.session_id,
        hold.as_secs()
    );
    let locker = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || pg.psql(&db, &lock))
    };
    let locked_at = tokio::time::Instant::now();
    // Within a lease (1.5 s) and a renewal (0.5 s) of the lock, with room
    // for a loaded machine; far less than the lock lasts.
    let (code, reason) = ada
        .closed(hold / 2)
        .await
        .expect("node1 kept serving the session while its lease ran out");
    assert_eq!(code, 1012, "{reason}");
    eprintln!(
        "node1 gave the session up {:?} after the lock",
        locked_at.elapsed()
    );
    locker.await.unwrap().expect("the lock was held");
}

/// A number from a node's `/metrics` (the sum over its labels).
async fn metric(base: &str, name: &str) -> f64 {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the node answers /metrics")
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// The owner is frozen (a paused VM, a stalled process) while holding
/// notes it could not store; another node takes the session; the frozen one
/// wakes with its database reachable again and its notes still in memory.
/// Whatever it does then — give the session up, or try to store them and
/// meet the fence — none of them reaches the database.
#[tokio::test]
async fn an_owner_frozen_past_its_lease_wakes_up_and_writes_nothing() {
    let CutOffPair {
        pg,
        db,
        cable,
        n1,
        n2,
        _dirs,
        s,
        ta,
        tb,
        mut ada,
        mut bruno,
        q,
        token: _,
    } = ada_on_a_cuttable_node1_bruno_on_node2().await;
    let pa = ta.participant_id.clone().unwrap();
    add_note(&mut ada, q, &pa, "before0", "prima").await;
    bruno
        .pump_until(WAIT, |c| note_ids(c.doc(q)).contains("before0"))
        .await
        .unwrap();

    // node1 loses the database, takes Ada's notes (it cannot store them:
    // it holds them), and freezes before its lease runs out.
    let errors = metric(&n1.base, "tavolo_storage_errors").await;
    cable.cut();
    for i in 0..3 {
        add_note(&mut ada, q, &pa, &format!("after{i}"), &format!("dopo {i}")).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric(&n1.base, "tavolo_storage_errors").await <= errors {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node1 never tried to store Ada's notes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let frozen_with = metric(&n1.base, "tavolo_storage_errors").await;
    let pid = n1.pid().unwrap();
    signal(pid, "-STOP");
    await_lease_expired(pg, &db, &s.session_id).await;
    let mut bruno = move_with_his_copy(bruno, &n2.base, &s, &tb, q).await;
    assert_eq!(lease(pg, &db, &s.session_id).unwrap().0, "node2");

    // node1 wakes up with the database reachable and Ada's notes in memory.
    cable.mend();
    signal(pid, "-CONT");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while metric(&n1.base, "tavolo_open_sessions").await > 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node1 kept serving the session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // For the log: with the database back, a write that fails after waking
    // can only be the fence refusing it.
    let refused = metric(&n1.base, "tavolo_storage_errors").await - frozen_with;
    eprintln!("node1's writes refused after waking: {refused}");
    let pb = tb.participant_id.clone().unwrap();
    add_note(&mut bruno, q, &pb, "bruno", "di Bruno").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let stored = loop {
        let stored = note_ids(&stored_doc(&db, q).await);
        if stored.contains("bruno") {
            break stored;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node2 never stored Bruno's note"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stored.contains("before0"), "{stored:?}");
    assert!(
        stored.iter().all(|n| !n.starts_with("after")),
        "the frozen owner wrote after the takeover: {stored:?}"
    );
    assert!(
        note_ids(&bruno.doc(q))
            .iter()
            .all(|n| !n.starts_with("after"))
    );
    drop(ada);
}

/// The loopback topology of `scripts/cluster.sh`: PostgreSQL, two nodes,
/// nginx routing by session. Stopped (and its directory removed) on drop.
struct Topology {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Topology {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cluster");
        let out = std::process::Command::new("bash")
            .arg(repo().join("scripts/cluster.sh"))
            .args(["start", "--nodes", "2", "--dir"])
            .arg(&root)
            .arg("--bin")
            .arg(server_bin())
            .args(["--", "--lease-ms", LEASE_MS])
            .env("TAVOLO_NO_RATE_LIMITS", "true")
            .current_dir(repo())
            .output()
            .expect("scripts/cluster.sh runs");
        assert!(
            out.status.success(),
            "scripts/cluster.sh start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(root.join("cluster.env"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self { dir, env }
    }

    fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in cluster.env"))
    }

    fn psql(&self, sql: &str) -> String {
        let out = std::process::Command::new("psql")
            .args(["-X", "-At", "-d", self.get("PG_URL"), "-c", sql])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn kill(&self, node: &str) {
        let pid = self.get(&format!("{}_PID", node.to_uppercase()));
        let status = std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(repo().join("scripts/cluster.sh"))
            .args(["stop", "--dir"])
            .arg(self.dir.path().join("cluster"))
            .output();
    }
}

#[tokio::test]
async fn through_nginx_a_sigkilled_owner_s_clients_reconnect_to_the_other_node_and_lose_no_acknowledged_note()
 {
    let t = Topology::start();
    let nginx = t.get("NGINX_URL").to_string();
    let api = tavolo_tests::Api::new(&nginx);
    let s = api.create_session().await.unwrap();
    let tw = join(&nginx, &s, "Writer").await;
    let to = join(&nginx, &s, "Observer").await;
    let url = |ticket: &Ticket| socket_url(&nginx, &s.session_id, &ticket.ticket);
    let mut writer = reconnect(&url(&tw), &tw, vec![], WAIT).await;
    let q = first_question(&writer, tw.session_doc);
    open_question(&mut writer, q).await;
    let mut observer = reconnect(&url(&to), &to, vec![], WAIT).await;
    open_question(&mut observer, q).await;
    let (owner, token) = {
        let l = t.psql(&format!(
            "SELECT owner || '|' || token FROM session_leases WHERE session_id = '{}'",
            s.session_id
        ));
        let (o, tk) = l.split_once('|').expect("a lease");
        (o.to_string(), tk.parse::<i64>().unwrap())
    };

    // Writes in flight when the owner dies.
    let pw = tw.participant_id.clone().unwrap();
    for i in 0..30 {
        add_note(&mut writer, q, &pw, &format!("n{i}"), &format!("nota {i}")).await;
    }
    observer
        .pump_until(WAIT, |c| note_ids(c.doc(q)).len() >= 10)
        .await
        .expect("notes flow");
    let acknowledged = note_ids(&observer.doc(q));
    t.kill(&owner);
    let writer_docs = vec![
        (tw.session_doc, writer.doc(tw.session_doc)),
        (q, writer.doc(q)),
    ];
    let observer_docs = vec![
        (to.session_doc, observer.doc(to.session_doc)),
        (q, observer.doc(q)),
    ];
    drop(writer);
    drop(observer);

    // Both come back through nginx, which sends them to the live node; it
    // takes the session once the dead owner's lease has expired.
    let mut writer = reconnect(&url(&tw), &tw, writer_docs, Duration::from_secs(20)).await;
    open_question(&mut writer, q).await;
    let mut observer = reconnect(&url(&to), &to, observer_docs, Duration::from_secs(20)).await;
    open_question(&mut observer, q).await;
    // The writer's copy holds all 30: what the dead node never made
    // durable goes out again to the new owner.
    observer
        .pump_until(Duration::from_secs(15), |c| note_ids(c.doc(q)).len() == 30)
        .await
        .expect("every note written reaches the new owner");
    let now = note_ids(&observer.doc(q));
    assert!(acknowledged.is_subset(&now));
    let l = t.psql(&format!(
        "SELECT owner || '|' || token FROM session_leases WHERE session_id = '{}'",
        s.session_id
    ));
    let (owner2, token2) = l.split_once('|').expect("a lease");
    assert_ne!(owner2, owner, "the dead node still owns the session");
    assert!(token2.parse::<i64>().unwrap() > token);
}

/// What PostgreSQL holds of a document, as a document.
async fn stored_doc(db: &str, doc: DocumentId) -> AutoCommit {
    let store = tavolo_server::storage::Storage::postgres(db).await.unwrap();
    let stored = store.load_doc(doc.to_string()).await.unwrap();
    let mut d = match &stored.snapshot {
        Some(s) => AutoCommit::load(s).unwrap(),
        None => AutoCommit::new(),
    };
    for c in &stored.changes {
        d.load_incremental(&c.data).unwrap();
    }
    d
}

/// The fence itself, without relying on the stale node noticing first: a
/// node whose lease another node took (its token superseded) cannot write
/// a single change of the session, and the write is refused as such.
#[tokio::test]
async fn a_write_carrying_a_superseded_token_is_refused_and_stores_nothing() {
    use tavolo_server::ownership::Claim;
    let pg = PostgresCluster::shared();
    let db = pg.create_database().unwrap();
    // A session to lease: made through a node, then the node is gone.
    let s = {
        let (n, _d) = node(&db, "maker", &[]).await;
        n.api().create_session().await.unwrap()
    };
    let store = tavolo_server::storage::Storage::postgres(&db)
        .await
        .unwrap();
    let docs = store.session_documents(s.session_id.clone()).await.unwrap();
    let (doc, _) = docs.first().cloned().unwrap();
    let ttl = Duration::from_millis(400);
    let a = store.ownership("node-a", "http://a", ttl).unwrap();
    let b = store.ownership("node-b", "http://b", ttl).unwrap();
    let Claim::Here(Some(fence_a)) = a.claim(&s.session_id).await.unwrap() else {
        panic!("node-a could not claim a free session");
    };
    assert_eq!(
        b.claim(&s.session_id).await.unwrap(),
        Claim::Elsewhere("http://a".into()),
        "a held lease was taken"
    );
    let writer_a = store.fenced(&fence_a).unwrap();
    writer_a
        .append_changes(doc.clone(), vec![(vec![1; 32], b"while held".to_vec())])
        .await
        .expect("the holder writes");
    // node-a stops renewing (dropped: as if paused or cut off), its lease
    // runs out, node-b takes it.
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let fence_b = loop {
        if let Claim::Here(Some(f)) = b.claim(&s.session_id).await.unwrap() {
            break f;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node-b never took over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(fence_b.token > fence_a.token);
    // node-a wakes up and writes with its old token: refused.
    let stale = writer_a
        .append_changes(doc.clone(), vec![(vec![2; 32], b"stale".to_vec())])
        .await;
    assert!(
        matches!(stale, Err(tavolo_server::storage::StorageError::Fenced)),
        "a stale owner wrote: {stale:?}"
    );
    let stored = store.load_doc(doc.clone()).await.unwrap();
    assert!(stored.changes.iter().all(|c| c.data != b"stale"));
    assert!(stored.changes.iter().any(|c| c.data == b"while held"));
    // Every other document write is fenced the same way.
    assert!(matches!(
        writer_a.compact(doc.clone(), b"snapshot".to_vec(), 1).await,
        Err(tavolo_server::storage::StorageError::Fenced)
    ));
    assert!(matches!(
        writer_a
            .save_dots(doc.clone(), vec![("p".into(), "n".into(), 1)])
            .await,
        Err(tavolo_server::storage::StorageError::Fenced)
    ));
    // The new owner writes.
    store
        .fenced(&fence_b)
        .unwrap()
        .append_changes(doc, vec![(vec![3; 32], b"new owner".to_vec())])
        .await
        .expect("the new owner writes");
}
