// Drives Tavolo with the stock automerge-repo client (no Tavolo code here).
//
//   node interop.mjs <ws-url-A> <ws-url-B> <automerge:question-doc> <participant-A> <participant-B>
//
// Two repos, each with its own ticket, open the same question document.
// A writes a note as itself: B must see it. A then tries to cheat (a note
// claiming B as author) and B writes a marker; once A sees the marker the
// script prints what each side saw as one JSON line and exits (0 unless
// something failed or the forgery reached B). The Rust test that runs this
// script then checks the server's copy: the forgery must not be there.
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"

const [wsA, wsB, docUrl, pidA, pidB] = process.argv.slice(2)
if (!pidB) {
  console.error("usage: node interop.mjs <wsA> <wsB> <docUrl> <pidA> <pidB>")
  process.exit(2)
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())])

const newRepo = (url) => new Repo({ network: [new WebSocketClientAdapter(url)] })
const connected = (repo) =>
  repo.peers.length ? Promise.resolve() : new Promise((res) => repo.networkSubsystem.once("peer", () => res()))
const until = (h, pred) =>
  new Promise((res) => {
    if (pred(h.doc())) return res()
    const f = ({ doc }) => {
      if (pred(doc)) {
        h.off("change", f)
        res()
      }
    }
    h.on("change", f)
  })
const texts = (doc) => Object.values(doc.notes ?? {}).map((n) => String(n.text))

const repoA = newRepo(wsA)
const repoB = newRepo(wsB)
let exit = 1
try {
  await withTimeout(Promise.all([connected(repoA), connected(repoB)]), 10000, "connect")
  const a = await withTimeout(repoA.find(docUrl), 10000, "A find")
  const b = await withTimeout(repoB.find(docUrl), 10000, "B find")

  // An honest note, written the way any automerge-repo app would (strings
  // become Text objects, numbers stay numbers).
  a.change((d) => {
    d.notes["n_js_a"] = {
      text: "Scritta dal client JavaScript",
      category: null,
      author: pidA,
      anonymous: false,
      cluster: null,
      created_at: Date.now(),
    }
  })
  await withTimeout(until(b, (d) => texts(d).includes("Scritta dal client JavaScript")), 10000, "B sees A's note")

  // A cheats: a note signed as B.
  a.change((d) => {
    d.notes["n_js_forged"] = {
      text: "Firmata B, scritta da A",
      category: null,
      author: pidB,
      anonymous: false,
      cluster: null,
      created_at: Date.now(),
    }
  })
  // B writes a marker; once A sees it, both connections have been through
  // the server at least once more.
  b.change((d) => {
    d.notes["n_js_b"] = {
      text: "Marcatore di B",
      category: null,
      author: pidB,
      anonymous: false,
      cluster: null,
      created_at: Date.now(),
    }
  })
  await withTimeout(until(a, (d) => texts(d).includes("Marcatore di B")), 10000, "A sees B's marker")
  const seenByB = texts(b.doc())
  const forgeryReachedB = seenByB.includes("Firmata B, scritta da A")
  console.log(JSON.stringify({ ok: !forgeryReachedB, seenByB, seenByA: texts(a.doc()) }))
  exit = forgeryReachedB ? 1 : 0
} catch (e) {
  console.error("FAIL", e.message)
} finally {
  await Promise.allSettled([repoA.shutdown(), repoB.shutdown()])
  // disconnect() does not cancel a reconnect timer armed by a server close.
  setTimeout(() => process.exit(exit), 50).unref()
}
