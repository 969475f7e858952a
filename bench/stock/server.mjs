// The stock automerge-repo sync server, set up the way
// automerge-repo-sync-server sets it up (a Repo with the Node WebSocket
// server adapter, storage on disk, sharing nothing unasked), for
// `tavolo-bench fleet --server automerge-repo` to run the same load
// against. No Tavolo code here.
//
//   node server.mjs <data-dir>
//
// Prints `listening <port>` once the socket is open.
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import { WebSocketServer } from "ws"

const dir = process.argv[2]
if (!dir) {
  console.error("usage: node server.mjs <data-dir>")
  process.exit(2)
}
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-bench`,
  sharePolicy: async () => false,
})
wss.on("listening", () => console.log(`listening ${wss.address().port}`))
process.on("SIGTERM", () => process.exit(0))
