// A stock automerge-repo app reading a Tavolo session the plain way: the
// question document's URL exactly as the session document holds it goes
// straight into `repo.find`, and ids compare with `===`.
//
//   node session.mjs <ws-url> <automerge:session-doc>
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [ws, sessionUrl] = process.argv.slice(2)
if (!sessionUrl) {
  console.error("usage: node session.mjs <ws> <sessionDocUrl>")
  process.exit(2)
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())])

const repo = new Repo({ network: [new WebSocketClientAdapter(ws)] })
let exit = 1
try {
  const s = (await withTimeout(repo.find(sessionUrl), 10000, "find session")).doc()
  const q = s.phases[0].questions[0]
  const question = await withTimeout(repo.find(q.doc), 10000, "find question by its URL as stored")
  const roster = await withTimeout(repo.find(s.roster_doc), 10000, "find roster by its URL as stored")
  console.log(
    JSON.stringify({
      docType: typeof q.doc,
      rosterType: typeof s.roster_doc,
      currentPhaseType: typeof s.current_phase,
      currentIsFirst: s.current_phase === s.phases[0].id,
      titleType: typeof s.title,
      questionHasNotes: typeof question.doc().notes === "object",
      rosterHasParticipants: typeof roster.doc().participants === "object",
    }),
  )
  exit = 0
} catch (e) {
  console.error("FAIL", e.message)
} finally {
  await repo.shutdown()
  process.exit(exit)
}
