//! `relay-server`: the plain relay the fan-out is measured against
//! (`fleet --servers relay`). The least a server can do and still let the
//! same clients work: one automerge document per document id, kept in
//! memory only; no policy, no storage, no per-peer work once a peer is in
//! step. A peer syncs normally until it has been sent everything the relay
//! has; from then on it is *streaming*: the changes anyone sends are encoded
//! once into one sync message and written to every streaming peer, and
//! what streaming peers send without changes (their acknowledgements) is
//! dropped unread. The CPU it spends per delivery is the floor — decode
//! the writer's message, apply it, one encoding, a socket write per
//! reader — that Tavolo's cost per delivery is compared with.
//!
//! Prints `listening <port>` once the socket is open.

use anyhow::Result;
use automerge::Automerge;
use automerge::sync::{self, SyncDoc};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tavolo_sync::wire::{DocMessage, PeerMetadata};
use tavolo_sync::{DocumentId, Message, PROTOCOL_V1, PeerId};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Default)]
struct Doc {
    doc: Automerge,
    peers: HashMap<PeerId, Peer>,
}

struct Peer {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    sync: sync::State,
    streaming: bool,
}

type Docs = Arc<Mutex<HashMap<DocumentId, Doc>>>;

pub fn run() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?.port());
        let docs: Docs = Arc::default();
        let me = PeerId("relay".into());
        loop {
            let (tcp, _) = listener.accept().await?;
            let (docs, me) = (docs.clone(), me.clone());
            tokio::spawn(async move {
                let _ = connection(tcp, docs, me).await;
            });
        }
    })
}

async fn connection(tcp: tokio::net::TcpStream, docs: Docs, me: PeerId) -> Result<()> {
    let ws = tokio_tungstenite::accept_async(tcp).await?;
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(WsMessage::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    });
    let mut them: Option<PeerId> = None;
    let mut opened: Vec<DocumentId> = Vec::new();
    while let Some(frame) = stream.next().await {
        let WsMessage::Binary(bytes) = frame? else {
            continue;
        };
        match Message::decode(&bytes)? {
            Message::Join { sender_id, .. } => {
                let peer = Message::Peer {
                    sender_id: me.clone(),
                    target_id: sender_id.clone(),
                    peer_metadata: PeerMetadata::default(),
                    selected_protocol_version: PROTOCOL_V1.into(),
                };
                let _ = tx.send(peer.encode());
                them = Some(sender_id);
            }
            Message::Request(m) | Message::Sync(m) => {
                let Some(peer) = &them else { continue };
                if !opened.contains(&m.document_id) {
                    opened.push(m.document_id);
                }
                receive(&docs, &me, peer, &tx, m)?;
            }
            _ => {}
        }
    }
    if let Some(peer) = &them {
        let mut docs = docs.lock().unwrap_or_else(|p| p.into_inner());
        for id in opened {
            if let Some(d) = docs.get_mut(&id) {
                d.peers.remove(peer);
            }
        }
    }
    writer.abort();
    Ok(())
}

fn receive(
    docs: &Docs,
    me: &PeerId,
    from: &PeerId,
    tx: &mpsc::UnboundedSender<Vec<u8>>,
    m: DocMessage,
) -> Result<()> {
    let mut docs = docs.lock().unwrap_or_else(|p| p.into_inner());
    let d = docs.entry(m.document_id).or_default();
    let peer = d.peers.entry(from.clone()).or_insert_with(|| Peer {
        tx: tx.clone(),
        sync: sync::State::new(),
        streaming: false,
    });
    let message = sync::Message::decode(&m.data)?;
    if message.changes.is_empty() && peer.streaming {
        return Ok(());
    }
    let before = d.doc.get_heads();
    d.doc.receive_sync_message(&mut peer.sync, message)?;
    let heads = d.doc.get_heads();
    let new: Vec<Vec<u8>> = if heads == before {
        Vec::new()
    } else {
        d.doc
            .get_changes(&before)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect()
    };
    let envelope = |to: &PeerId, data: Vec<u8>| {
        Message::Sync(DocMessage {
            sender_id: me.clone(),
            target_id: to.clone(),
            document_id: m.document_id,
            data,
        })
        .encode()
    };
    let changed = !new.is_empty();
    if changed {
        // "Everything up to these heads": a writer then sends only what it
        // made since. Encoded once for every reader.
        let data = crate::fanout::up_to(heads.clone(), new);
        for (id, p) in d.peers.iter().filter(|(id, p)| p.streaming && *id != from) {
            let _ = p.tx.send(envelope(id, data.clone()));
        }
    }
    // The sender, and anyone still catching up, sync the ordinary way.
    let doc = &d.doc;
    for (id, p) in d
        .peers
        .iter_mut()
        .filter(|(id, p)| *id == from || (!p.streaming && changed))
    {
        if let Some(reply) = doc.generate_sync_message(&mut p.sync) {
            let _ = p.tx.send(envelope(id, reply.encode()));
        }
        // It has been sent everything the relay has: what comes next can
        // go to it as a broadcast.
        p.streaming = p.sync.their_heads.is_some() && p.sync.last_sent_heads == heads;
    }
    Ok(())
}
