// A stock automerge-repo client opening a board whose stored data is
// damaged: the server says so without closing the connection, and the
// session's other boards keep working on the same connection.
//
//   node damaged.mjs <ws-url> <automerge:damaged-doc> <automerge:healthy-doc> <participant-id>
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [ws, damagedUrl, healthyUrl, pid] = process.argv.slice(2)
if (!pid) {
  console.error("usage: node damaged.mjs <ws> <damagedUrl> <healthyUrl> <pid>")
  process.exit(2)
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())])
const sleep = (ms) => new Promise((res) => setTimeout(res, ms))

const adapter = new WebSocketClientAdapter(ws)
const repo = new Repo({ network: [adapter] })
let disconnects = 0
adapter.on("peer-disconnected", () => disconnects++)
let exit = 1
try {
  const healthy = await withTimeout(repo.find(healthyUrl), 10000, "find the healthy board")
  // Asked for, never served: no empty board arrives.
  let damagedFound = false
  repo.find(damagedUrl).then(
    () => (damagedFound = true),
    () => {},
  )
  await sleep(3000)
  healthy.change((d) => {
    d.notes["n_js_after_damage"] = {
      text: "Accanto alla bacheca danneggiata",
      category: null,
      author: pid,
      anonymous: false,
      cluster: null,
      created_at: Date.now(),
    }
  })
  await sleep(500)
  console.log(JSON.stringify({ disconnects, damagedFound }))
  exit = 0
} catch (e) {
  console.error("FAIL", e.message)
} finally {
  await repo.shutdown()
  process.exit(exit)
}
