// A stock automerge-repo client that tries to cheat, once per attempt on a
// fresh connection (after a refusal the server ignores that connection's
// changes to the document, so each attempt starts clean):
//
//   node cheat.mjs <ws-url> <automerge:question-doc> <own-participant-id> <victim-participant-id> <victim-note-id> <budget>
//
// 1. edit another participant's note, 2. write a dot into the board in
// someone else's name, 3. write one's own dots into the board (contract v2:
// dots are asked of the server), 4. give someone else's contribution a
// timing and a condition, 5. ask the server for more dots than the budget,
// the way Tavolo's client asks (`tavolo/dot`). Prints one JSON line
// with the refusal code of each attempt; exits 0 when every attempt got an
// answer.
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [ws, docUrl, me, victim, victimNote, budget] = process.argv.slice(2)
if (!budget) {
  console.error("usage: node cheat.mjs <ws> <docUrl> <me> <victim> <victimNote> <budget>")
  process.exit(2)
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())])

async function attempt(what, change) {
  const adapter = new WebSocketClientAdapter(ws)
  const repo = new Repo({ network: [adapter] })
  try {
    const h = await withTimeout(repo.find(docUrl), 10000, `${what}: find`)
    // A stock client hears of a refusal as an ephemeral message on the
    // document, which automerge-repo hands to the application.
    const refused = new Promise((res) =>
      h.on("ephemeral-message", ({ message }) => {
        if (message?.type === "tavolo/refused") res(message.code)
      }),
    )
    h.change(change)
    return await withTimeout(refused, 10000, `${what}: tavolo/refused`)
  } finally {
    await repo.shutdown()
  }
}

// Asks the server for more dots than the budget; the server answers this
// peer alone with its dots and why the request did not land.
async function askTooMany() {
  const adapter = new WebSocketClientAdapter(ws)
  const repo = new Repo({ network: [adapter] })
  try {
    const h = await withTimeout(repo.find(docUrl), 10000, "dots: find")
    const answer = new Promise((res) =>
      h.on("ephemeral-message", ({ message }) => {
        if (message?.type === "tavolo/dots") res(message.refused?.code ?? "accepted")
      }),
    )
    h.broadcast({ type: "tavolo/dot", target: victimNote, count: Number(budget) + 1 })
    return await withTimeout(answer, 10000, "dots: tavolo/dots")
  } finally {
    await repo.shutdown()
  }
}

let exit = 1
try {
  const report = {}
  report.editAnother = await attempt("edit another's note", (d) => {
    d.notes[victimNote].text = "Riscritta da un client che bara"
  })
  report.voteAsAnother = await attempt("vote as someone else", (d) => {
    d.votes[victimNote] = { [victim]: 1 }
  })
  report.voteInTheBoard = await attempt("write one's own dot into the board", (d) => {
    d.votes[victimNote] = { [me]: 1 }
  })
  report.termsOfAnother = await attempt("say when someone else's contribution starts", (d) => {
    d.notes[victimNote].when = "now"
    d.notes[victimNote].condition = "solo se paga il Comune"
  })
  report.overBudget = await askTooMany()
  console.log(JSON.stringify(report))
  exit = 0
} catch (e) {
  console.error("FAIL", e.message)
} finally {
  setTimeout(() => process.exit(exit), 50).unref()
}
