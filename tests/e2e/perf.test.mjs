// A board of 300 notes in 40 groups on a phone stays live: a stock
// automerge-repo client (Node, a participant's ticket) seeds the board in a
// few changes, then makes 100 single changes — add a note, move a note —
// and the phone records, in the browser, when each is on screen.
//
// Three times per change, all on one machine's clock:
// - arrival → screen: the first WebSocket frame the page receives after the
//   stock client sent the change, to the frame after the DOM showed it (the
//   number the board is responsible for: PERF remote-change-to-screen);
// - sent → screen: from the stock client's socket send (adds the server);
// - change → screen: from `handle.change()` (adds the stock client's own
//   100 ms send throttle).
//
// Run: cd tests/e2e && npm test

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Repo } from '@automerge/automerge-repo';
import { OUTPUT_DIR, scenario } from './harness.mjs';
import { joinByApi, TicketedAdapter, until } from './stock.mjs';

const NOTES = 300;
const CLUSTERS = 40;
const LOOSE = 20;
const CHANGES = 100;
const THROTTLED_CHANGES = 40;
/** Generous: a phone on venue Wi-Fi must still feel live. */
const WORST_BUDGET_MS = 1000;

const PERSON = {
  name: 'Anna Verdi',
  organization: 'Pro Loco',
  sector: 'community',
  tier: 'founding_core',
  attendance: 'in_room',
};

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median, p90: quantile(sorted, 0.9), worst: sorted[sorted.length - 1], n: sorted.length };
}

/** In the page: record when each WebSocket frame arrives (before the app's own handler runs). */
function recordFrames() {
  const Original = window.WebSocket;
  window.__frames = [];
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        window.__frames.push(Date.now());
        if (window.__frames.length > 20_000) window.__frames.splice(0, 10_000);
      });
    }
  };
}

/** In the page: resolves with when `selector` matched (DOM) and the frame after (screen). */
function watchSelector({ key, selector, timeoutMs }) {
  const registry = (window.__perfWatches ??= {});
  registry[key] = new Promise((resolve) => {
    if (document.querySelector(selector)) return resolve({ already: true });
    let timer = null;
    const observer = new MutationObserver(() => {
      if (!document.querySelector(selector)) return;
      const domAt = Date.now();
      observer.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() => resolve({ domAt, paintAt: Date.now() }));
    });
    observer.observe(document.body, { childList: true, subtree: true });
    timer = setTimeout(() => {
      observer.disconnect();
      resolve(null);
    }, timeoutMs);
  });
}

scenario(`a board of ${NOTES} notes in ${CLUSTERS} groups shows each of ${CHANGES} remote changes within a second on a phone`, { timeout: 300_000 }, async (world, t) => {
  const { server } = world;
  const session = await server.createSession();
  const seeder = await joinByApi(server, session.join_code, 'Seminatore');

  // The stock client, as any automerge-repo app would connect.
  const adapter = new TicketedAdapter(`${server.url.replace(/^http/, 'ws')}/sync`, seeder.ticket);
  let lastSendAt = 0;
  const send = adapter.send.bind(adapter);
  adapter.send = (message) => {
    if (message.type === 'sync') lastSendAt = Date.now();
    send(message);
  };
  const repo = new Repo({ network: [adapter] });
  try {
    const sessionHandle = await repo.find(seeder.session_doc);
    await until(sessionHandle, (d) => d?.phases?.length > 0, 10_000, 'the session document');
    const questionUrl = String(sessionHandle.doc().phases[0].questions[0].doc);
    const question = await repo.find(questionUrl);
    await until(question, (d) => d?.notes !== undefined, 10_000, 'the question document');

    // Seed: the groups in one change, the notes in three.
    const seedStart = Date.now();
    const clusterIds = Array.from({ length: CLUSTERS }, (_, i) => `c_perf_${i}`);
    question.change((d) => {
      clusterIds.forEach((id, i) => {
        d.clusters[id] = { title: `Gruppo ${i + 1}` };
      });
    });
    const noteIds = Array.from({ length: NOTES }, (_, i) => `n_perf_${i}`);
    const home = (i) => (i < NOTES - LOOSE ? clusterIds[i % CLUSTERS] : null);
    for (let batch = 0; batch < 3; batch++) {
      question.change((d) => {
        for (let i = batch * 100; i < (batch + 1) * 100; i++) {
          d.notes[noteIds[i]] = {
            text: `Nota di prova ${i + 1}: una risorsa del territorio da mettere in comune`,
            category: null,
            author: seeder.participant_id,
            anonymous: false,
            cluster: home(i),
            created_at: Date.now(),
          };
        }
      });
    }

    // The phone joins (another participant) and loads the whole board.
    const phone = await world.openPhone('Pixel 7', 'Anna (Pixel 7)');
    await phone.context.addInitScript(recordFrames);
    await phone.join(server.url, session.join_code, PERSON);
    await phone.page.waitForFunction((n) => document.querySelectorAll('li.note-card').length === n, NOTES, { timeout: 30_000, polling: 200 });
    const loaded = Date.now() - seedStart;
    const clustersShown = await phone.page.locator('.cluster-card').count();
    assert.equal(clustersShown, CLUSTERS);
    t.diagnostic(`seeded ${NOTES} notes in ${CLUSTERS} groups with the stock client; on the phone ${loaded} ms after seeding began`);

    // Reload: how long a phone takes to draw the whole board from nothing.
    const reloadStart = Date.now();
    await phone.page.reload();
    await phone.page.waitForFunction((n) => document.querySelectorAll('li.note-card').length === n, NOTES, { timeout: 30_000, polling: 'raf' });
    t.diagnostic(`reload → ${NOTES} notes on screen: ${Date.now() - reloadStart} ms`);

    const where = new Map(noteIds.map((id, i) => [id, home(i)]));
    let serial = 0;
    /** Makes `count` single changes and returns how long each took to reach the screen. */
    const measure = async (count) => {
      const arrival = [];
      const sent = [];
      const changed = [];
      for (let n = 0; n < count; n++) {
        const i = serial++;
        let selector;
        let change;
        if (i % 2 === 0) {
          const id = `n_perf_new_${i}`;
          const cluster = clusterIds[(i * 7) % CLUSTERS];
          selector = `[data-cluster-id="${cluster}"] [data-note-id="${id}"]`;
          change = (d) => {
            d.notes[id] = { text: `Nuova nota ${i} (${Date.now()})`, category: null, author: seeder.participant_id, anonymous: false, cluster, created_at: Date.now() };
          };
        } else {
          const id = noteIds[(i * 13) % NOTES];
          const from = where.get(id);
          const to = clusterIds[(clusterIds.indexOf(from) + 1 + (i % (CLUSTERS - 1))) % CLUSTERS];
          where.set(id, to);
          selector = `[data-cluster-id="${to}"] [data-note-id="${id}"]`;
          change = (d) => {
            d.notes[id].cluster = to;
          };
        }
        const key = `k${i}`;
        await phone.page.evaluate(watchSelector, { key, selector, timeoutMs: 10_000 });
        const sentBefore = lastSendAt;
        const changedAt = Date.now();
        question.change(change);
        const seen = await phone.page.evaluate((k) => window.__perfWatches[k], key);
        assert.ok(seen && !seen.already, `change ${i} (${selector}) never reached the screen`);
        assert.ok(lastSendAt > sentBefore, `change ${i} was not sent`);
        const frameAt = await phone.page.evaluate(([from, to]) => window.__frames.find((f) => f >= from && f <= to), [lastSendAt, seen.domAt]);
        assert.ok(frameAt !== undefined, `no frame arrived for change ${i}`);
        arrival.push(seen.paintAt - frameAt);
        sent.push(seen.paintAt - lastSendAt);
        changed.push(seen.paintAt - changedAt);
      }
      return { arrival, sent, changed };
    };

    const { arrival, sent, changed } = await measure(CHANGES);
    const a = stats(arrival);
    const s = stats(sent);
    const c = stats(changed);
    const lines = [
      `PERF remote-change-to-screen median=${a.median}ms worst=${a.worst}ms p90=${a.p90}ms n=${a.n} (${NOTES} notes, ${CLUSTERS} groups, Pixel 7 viewport; from the frame's arrival in the page)`,
      `PERF sent-to-screen median=${s.median}ms worst=${s.worst}ms p90=${s.p90}ms n=${s.n} (from the stock client's socket send, through the server)`,
      `PERF change-to-screen median=${c.median}ms worst=${c.worst}ms p90=${c.p90}ms n=${c.n} (from handle.change(), with the stock client’s send throttle)`,
    ];
    for (const line of lines) {
      t.diagnostic(line);
      console.log(line);
    }
    // A mid-range phone's CPU is several times slower than this machine's: the same again, throttled 4×.
    const cdp = await phone.context.newCDPSession(phone.page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const slow = stats((await measure(THROTTLED_CHANGES)).arrival);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    const slowLine = `PERF remote-change-to-screen-cpu4x median=${slow.median}ms worst=${slow.worst}ms p90=${slow.p90}ms n=${slow.n} (the same, CPU throttled 4× through CDP; reported, not asserted)`;
    t.diagnostic(slowLine);
    console.log(slowLine);
    lines.push(slowLine);
    writeFileSync(join(OUTPUT_DIR, 'perf.txt'), `${lines.join('\n')}\n`);
    assert.ok(a.worst < WORST_BUDGET_MS, `worst remote change took ${a.worst} ms to reach the screen`);
    assert.ok(s.worst < WORST_BUDGET_MS, `worst change took ${s.worst} ms from the stock client's send to the screen`);
  } finally {
    await repo.shutdown().catch(() => {});
  }
});
