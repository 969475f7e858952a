//! Prints what a sync-message input holds (fuzz triage):
//! `cargo run --release --example inspect -- FILE`.
use automerge::Change;
use automerge::sync;

fn main() {
    let path = std::env::args().nth(1).expect("a file");
    let raw = std::fs::read(&path).expect("read");
    for (label, data) in [
        ("as is", Some(raw.clone())),
        ("checksums fixed", tavolo_fuzz::fix_checksums(&raw)),
    ] {
        let Some(data) = data else { continue };
        println!("== {label}: {} bytes", data.len());
        let mut g = tavolo_sync::guard::Guard::new(Default::default());
        println!("guard: {:?}", g.check_sync(&data));
        match sync::Message::decode(&data) {
            Ok(m) => {
                println!(
                    "heads {} need {} have {}",
                    m.heads.len(),
                    m.need.len(),
                    m.have.len()
                );
                for c in m.changes.iter() {
                    match Change::from_bytes(c.to_vec()) {
                        Ok(ch) => println!(
                            "change {} actor {} others {:?} seq {} start {} ops {} deps {:?}",
                            ch.hash(),
                            ch.actor_id(),
                            ch.other_actor_ids(),
                            ch.seq(),
                            ch.start_op(),
                            ch.len(),
                            ch.deps()
                        ),
                        Err(e) => println!("chunk of {} bytes: {e}", c.len()),
                    }
                }
            }
            Err(e) => println!("automerge decode: {e}"),
        }
    }
}
