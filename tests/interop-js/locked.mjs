// A stock automerge-repo client that ignores Tavolo's UI rules: it writes a
// note into a question whose phase the facilitator has locked.
//
//   node locked.mjs <ws-url> <automerge:question-doc> <participant-id>
//
// The server tells a stock client of the refusal the way any
// automerge-repo app can hear it: an ephemeral message on the document,
// `{type: "tavolo/refused", code, message, documentId}`. It prints one JSON
// line with the refusal and exits 0 once the refusal arrived.
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [ws, docUrl, pid] = process.argv.slice(2)
if (!pid) {
  console.error("usage: node locked.mjs <ws> <docUrl> <pid>")
  process.exit(2)
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())])

const adapter = new WebSocketClientAdapter(ws)
const repo = new Repo({ network: [adapter] })
let exit = 1
try {
  const h = await withTimeout(repo.find(docUrl), 10000, "find")
  // Refusals reach a stock client as an ephemeral message on the document.
  const refused = new Promise((res) =>
    h.on("ephemeral-message", ({ message }) => {
      if (message?.type === "tavolo/refused") res(message)
    }),
  )
  h.change((d) => {
    d.notes["n_js_locked"] = {
      text: "Scritta a fase chiusa",
      category: null,
      author: pid,
      anonymous: false,
      cluster: null,
      created_at: Date.now(),
    }
  })
  const r = await withTimeout(refused, 10000, "tavolo/refused")
  console.log(JSON.stringify({ code: r.code, documentId: r.documentId }))
  exit = 0
} catch (e) {
  console.error("FAIL", e.message)
} finally {
  await Promise.allSettled([repo.shutdown()])
  setTimeout(() => process.exit(exit), 50).unref()
}
