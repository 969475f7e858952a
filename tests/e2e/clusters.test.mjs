// Clustering and dot voting in real browsers: two phones group the same
// notes at the same moment and end with the same board; notes move by
// dragging with a finger or a mouse, and by the keyboard alone; dots tally
// on the facilitator's ranking and reach the room only when revealed.
//
// "At the same moment" is made exact, not left to timing: each phone's sync
// socket goes through a proxy in the test (`syncProxy`) that can hold what
// the server sends, so both phones edit before either hears of the other.
//
// Run: cd tests/e2e && npm test

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GIULIA, horizontalOverflow, it, MARCO, projectorLinkOf, scenario, SCREENSHOT_DIR, smallTouchTargets, unique } from './harness.mjs';

// Phase 1 of the built-in template (model/templates/tavolo-prima-sessione.toml).
const Q1 = "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?";



/**
 * Routes the phone's sync socket through the test, so that what the server
 * sends can be held back and released later. Must be set up before the
 * page opens the socket.
 */
async function syncProxy(phone) {
  const state = { holding: false, queue: [] };
  // The address is /sync/{session} (no ticket in it): the ticket rides as a subprotocol, which the proxy passes on.
  await phone.context.routeWebSocket(/\/sync(\/[^/?]+)?$/, (page) => {
    const server = page.connectToServer();
    page.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      if (state.holding) state.queue.push(() => page.send(m));
      else page.send(m);
    });
  });
  return {
    hold() {
      state.holding = true;
    },
    release() {
      state.holding = false;
      for (const deliver of state.queue.splice(0)) deliver();
    },
  };
}

async function openConsole(world, session) {
  const screen = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
  await screen.page.goto(`${world.server.url}/f/${session.session_id}#${session.facilitator_key}`);
  await screen.page.getByRole('heading', { name: /^Fase in corso/ }).waitFor({ timeout: 15_000 });
  return screen;
}

// ---- what a person does on the board ---------------------------------------------

/** The note card (a list item) showing `text`. */
const noteCard = (phone, text) => phone.page.locator('li.note-card', { hasText: text });
/** A group's card, found by its title (the card is a region labelled "Gruppo: <title>"). */
const clusterCard = (phone, title) => phone.page.getByRole('region', { name: it('cluster.heading', { title }), exact: true });

async function openMoveMenu(phone, text) {
  await noteCard(phone, text).getByRole('button', { name: it('note.handleLabel', { text }) }).click();
}

async function moveNote(phone, text, title) {
  await openMoveMenu(phone, text);
  await phone.page.getByRole('menuitem', { name: it('move.toCluster', { title }), exact: true }).click();
}

async function newGroup(phone, text, title) {
  await openMoveMenu(phone, text);
  await phone.page.getByRole('menuitem', { name: it('move.newCluster'), exact: true }).click();
  await noteCard(phone, text).getByLabel(it('move.newClusterLabel')).fill(title);
  await noteCard(phone, text).getByRole('button', { name: it('move.create') }).click();
  await clusterCard(phone, title).waitFor({ timeout: 2_000 });
}

async function clusterMenu(phone, title, item) {
  await clusterCard(phone, title).getByRole('button', { name: it('cluster.menuLabel', { title }) }).click();
  await phone.page.getByRole('menuitem', { name: item, exact: true }).click();
}

async function renameGroup(phone, title, newTitle) {
  await clusterMenu(phone, title, it('cluster.rename'));
  const card = clusterCard(phone, title);
  await card.getByLabel(it('cluster.renameLabel')).fill(newTitle);
  await card.getByRole('button', { name: it('common.save') }).click();
  await clusterCard(phone, newTitle).waitFor({ timeout: 2_000 });
}

/**
 * The first question's board as text: each group's title, its title
 * conflicts and its notes, and the notes in no group (sorted, so that the
 * comparison is about where each note is, not about order on screen).
 * Runs in the page.
 */
const BOARD_OF_PAGE = () => {
  const section = document.querySelector('.question-section');
  const texts = (root) => [...root.querySelectorAll('li.note-card .note-text')].map((n) => n.textContent).sort();
  const clusters = [...section.querySelectorAll('.cluster-card')]
    .map((c) => ({
      title: c.querySelector('.cluster-title-text').textContent,
      conflicts: [...c.querySelectorAll('.title-conflict button')].map((b) => b.textContent).sort(),
      notes: texts(c),
    }))
    .sort((a, b) => a.title.localeCompare(b.title));
  const looseArea = section.querySelector('.loose-area');
  return JSON.stringify({ clusters, loose: looseArea ? texts(looseArea) : [] });
};

const boardOf = async (phone) => JSON.parse(await phone.page.evaluate(BOARD_OF_PAGE));

/** Whether `phone`'s board reads as `expected` within `timeout` ms (polled each frame's worth). */
async function readsAs(phone, expected, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if ((await phone.page.evaluate(BOARD_OF_PAGE)) === expected) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 16));
  }
}

/** Waits until every phone shows the same board, and returns it. */
async function sameBoard(phones, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const first = await phones[0].page.evaluate(BOARD_OF_PAGE);
    let agreed = true;
    for (const other of phones.slice(1)) {
      // Read through the DevTools protocol (the page's CSP forbids
      // evaluating strings in it). Short: the first phone may still be
      // catching up, and is read again.
      const ok = await readsAs(other, first, 500);
      if (!ok) agreed = false;
    }
    // The first phone may itself have moved on meanwhile: agree only on a settled board.
    if (agreed && (await phones[0].page.evaluate(BOARD_OF_PAGE)) === first) return JSON.parse(first);
    if (Date.now() > deadline) {
      const boards = await Promise.all(phones.map(boardOf));
      assert.fail(`the phones do not agree:\n${phones.map((p, i) => `${p.label}: ${JSON.stringify(boards[i])}`).join('\n')}`);
    }
  }
}

/** Every note text appears exactly once on the board. */
function assertEachOnce(board, texts) {
  const all = [...board.clusters.flatMap((c) => c.notes), ...board.loose];
  for (const text of texts) {
    assert.equal(all.filter((x) => x === text).length, 1, `"${text}" is on the board ${all.filter((x) => x === text).length} times`);
  }
  assert.equal(all.length, texts.length, `the board has ${all.length} notes, not ${texts.length}`);
}

async function twoPhones(world, { proxy = false } = {}) {
  const session = await world.server.createSession();
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13)');
  const proxies = proxy ? [await syncProxy(giulia), await syncProxy(marco)] : [];
  await giulia.join(world.server.url, session.join_code, GIULIA);
  await marco.join(world.server.url, session.join_code, MARCO);
  return { session, giulia, marco, proxies };
}

/** Adds notes on a phone and waits until `others` show them too. */
async function addNotes(phone, texts, others) {
  for (const text of texts) await phone.addNote(Q1, text);
  for (const other of others) for (const text of texts) await noteCard(other, text).waitFor({ timeout: 5_000 });
}

// ---- (a) two phones at the same moment --------------------------------------------------

scenario('two phones cluster the same notes at the same moment and end with the same board', { timeout: 180_000 }, async (world, t) => {
  const { giulia, marco, proxies } = await twoPhones(world, { proxy: true });
  const phones = [giulia, marco];
  const tag = unique();
  const [a, b, c, d, e, f] = ['La piazza', 'La biblioteca', 'I volontari', 'Le scuole', 'Il mercato', 'La banda'].map((x) => `${x} ${tag}`);
  await addNotes(giulia, [a, b, c, d], [marco]);
  await addNotes(marco, [e, f], [giulia]);
  await newGroup(giulia, a, 'Spazi');
  await newGroup(marco, e, 'Persone');
  await sameBoard(phones);

  const atOnce = async (edits) => {
    for (const p of proxies) p.hold();
    try {
      await Promise.all(edits.map((edit) => edit()));
    } finally {
      for (const p of proxies) p.release();
    }
  };

  // Round 1: both move the same note (c) into different groups, and one more each.
  await atOnce([
    async () => {
      await moveNote(giulia, b, 'Spazi');
      await moveNote(giulia, c, 'Spazi');
    },
    async () => {
      await moveNote(marco, c, 'Persone');
      await moveNote(marco, d, 'Persone');
    },
  ]);
  let board = await sameBoard(phones);
  assertEachOnce(board, [a, b, c, d, e, f]);
  t.diagnostic(`after concurrent moves: ${JSON.stringify(board)}`);

  // Round 2: both rename "Spazi" at once: one title wins everywhere, the other is offered, not lost.
  await atOnce([() => renameGroup(giulia, 'Spazi', 'Luoghi'), () => renameGroup(marco, 'Spazi', 'Spazi comuni')]);
  board = await sameBoard(phones);
  const renamed = board.clusters.find((x) => x.title === 'Luoghi' || x.title === 'Spazi comuni');
  assert.ok(renamed, `no group has either new title: ${JSON.stringify(board)}`);
  const loser = renamed.title === 'Luoghi' ? 'Spazi comuni' : 'Luoghi';
  assert.deepEqual(renamed.conflicts, [it('cluster.keep', { title: renamed.title }), it('cluster.pick', { title: loser })].sort());
  for (const phone of phones) {
    await clusterCard(phone, renamed.title).getByText(it('cluster.conflict')).waitFor();
  }
  t.diagnostic(`concurrent renames: "${renamed.title}" won, "${loser}" offered on both phones`);
  // Marco picks the title that lost: the conflict is gone on both phones.
  await clusterCard(marco, renamed.title).getByRole('button', { name: it('cluster.pick', { title: loser }) }).click();
  for (const phone of phones) {
    await clusterCard(phone, loser).waitFor({ timeout: 2_000 });
    await clusterCard(phone, loser).getByText(it('cluster.conflict')).waitFor({ state: 'detached', timeout: 2_000 });
  }
  board = await sameBoard(phones);

  // Round 3: Giulia merges "Persone" into the places while Marco moves f into "Persone" and renames it.
  await atOnce([
    () => clusterMenu(giulia, 'Persone', it('cluster.mergeInto', { title: loser })),
    async () => {
      await moveNote(marco, f, 'Persone');
      await renameGroup(marco, 'Persone', 'Relazioni');
    },
  ]);
  board = await sameBoard(phones);
  t.diagnostic(`after a merge against a move and a rename: ${JSON.stringify(board)}`);
  assert.equal(board.clusters.length, 1, 'the merged group is still there');
  assert.equal(board.clusters[0].title, loser);
  // The note moved into the merged group followed it: nothing is left behind or lost.
  assert.deepEqual(board.clusters[0].notes, [a, b, c, d, e, f].sort());
  assertEachOnce(board, [a, b, c, d, e, f]);

  // Dissolve: every note is back out of the groups, on both phones.
  await clusterMenu(marco, loser, it('cluster.dissolve'));
  await clusterCard(marco, loser).getByRole('button', { name: it('cluster.dissolveYes') }).click();
  board = await sameBoard(phones);
  assert.equal(board.clusters.length, 0);
  assert.deepEqual(board.loose, [a, b, c, d, e, f].sort());
});

// ---- (b) drag and drop: a finger and a mouse ---------------------------------------------

/**
 * Where a drag starts and ends, both on screen at once (the page is
 * scrolled to the middle of the two), away from the edges where a drag
 * scrolls the page.
 */
async function dragPoints(from, to, { toBottom = false } = {}) {
  const spot = (box, bottom) => ({ x: box.x + box.width / 2, y: bottom ? box.y + box.height - 10 : box.y + Math.min(box.height / 2, 40) });
  const [fromEl, toEl] = [await from.elementHandle(), await to.elementHandle()];
  await from.page().evaluate(
    ([a, b, toBottom]) => {
      const [ra, rb] = [a.getBoundingClientRect(), b.getBoundingClientRect()];
      const bTop = toBottom ? rb.bottom - 20 : rb.top;
      const middle = (Math.min(ra.top, bTop) + Math.max(ra.bottom, rb.bottom)) / 2;
      window.scrollBy(0, middle - window.innerHeight / 2);
    },
    [fromEl, toEl, toBottom],
  );
  const [a, b] = [spot(await from.boundingBox(), false), spot(await to.boundingBox(), toBottom)];
  const height = await from.evaluate(() => window.innerHeight);
  for (const { y } of [a, b]) assert.ok(y > 80 && y < height - 80, `not both on screen: ${JSON.stringify([a, b])}`);
  return [a, b];
}

async function centre(locator) {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** A finger on `from`, moving in steps to `to`, lifted there: real touch events through CDP. */
async function touchDrag(phone, from, to, steps = 12) {
  const cdp = await phone.context.newCDPSession(phone.page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: from.x, y: from.y, id: 1 }] });
  for (let i = 1; i <= steps; i++) {
    const x = from.x + ((to.x - from.x) * i) / steps;
    const y = from.y + ((to.y - from.y) * i) / steps;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y, id: 1 }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

const handleOf = (phone, text) => noteCard(phone, text).getByRole('button', { name: it('note.handleLabel', { text }) });

scenario('drag and drop moves notes with a finger (touch emulation) and with a mouse', { timeout: 150_000 }, async (world, t) => {
  const { giulia, marco } = await twoPhones(world);
  const tag = unique();
  const [a, b, c] = ['Orti condivisi', 'Cucina di quartiere', 'Doposcuola'].map((x) => `${x} ${tag}`);
  await addNotes(giulia, [a, b, c], [marco]);
  assert.ok(await giulia.page.evaluate(() => navigator.maxTouchPoints > 0), 'the phone has no touch screen');

  // A finger drops c on the loose note b: a new group with both, and its title field opens.
  const scrollBefore = await giulia.page.evaluate(() => window.scrollY);
  await touchDrag(giulia, ...(await dragPoints(handleOf(giulia, c), noteCard(giulia, b).locator('.note-text'))));
  const titleField = giulia.page.getByLabel(it('cluster.renameLabel'));
  await titleField.waitFor({ timeout: 2_000 });
  await titleField.fill('Cibo');
  await giulia.page.getByRole('button', { name: it('common.save') }).click();
  for (const phone of [giulia, marco]) {
    await clusterCard(phone, 'Cibo').locator('li.note-card', { hasText: b }).waitFor({ timeout: 2_000 });
    await clusterCard(phone, 'Cibo').locator('li.note-card', { hasText: c }).waitFor({ timeout: 2_000 });
  }
  t.diagnostic(`touch: dropped a note on another, a new group (page scroll ${scrollBefore} → ${await giulia.page.evaluate(() => window.scrollY)})`);

  // A finger drags a into the group's card.
  // Onto the group's card itself (its lower edge, below its notes).
  await touchDrag(giulia, ...(await dragPoints(handleOf(giulia, a), clusterCard(giulia, 'Cibo'), { toBottom: true })));
  for (const phone of [giulia, marco]) {
    await clusterCard(phone, 'Cibo').locator('li.note-card', { hasText: a }).waitFor({ timeout: 2_000 });
  }
  t.diagnostic('touch: dragged a note into a group');

  // A finger on a note's text (not its handle) scrolls the board instead of dragging.
  await giulia.page.evaluate(() => window.scrollTo(0, 200));
  const swipeFrom = await giulia.page.evaluate(() => window.scrollY);
  const text = noteCard(giulia, a).locator('.note-text');
  const start = await centre(text);
  await touchDrag(giulia, start, { x: start.x, y: Math.max(5, start.y - 150) }, 8);
  await giulia.page.waitForFunction((y) => window.scrollY !== y, swipeFrom, { timeout: 2_000 });
  await clusterCard(giulia, 'Cibo').locator('li.note-card', { hasText: a }).waitFor();
  t.diagnostic('touch: a swipe on the note text scrolls and moves nothing');

  // The mouse drags b out of the group, onto "fuori dai gruppi".
  const desk = await world.openScreen('Marco on a laptop (mouse)', { width: 1280, height: 900 });
  // Same person on a laptop: his stored ticket travels in localStorage.
  const storage = await marco.page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  await desk.page.goto(`${world.server.url}/`);
  await desk.page.evaluate((s) => {
    for (const [k, v] of JSON.parse(s)) localStorage.setItem(k, v);
  }, storage);
  await desk.page.goto(marco.page.url());
  await desk.waitForBoard();
  const [from, to] = await dragPoints(handleOf(desk, b), desk.page.locator('.loose-area'));
  await desk.page.mouse.move(from.x, from.y);
  await desk.page.mouse.down();
  await desk.page.mouse.move(to.x, to.y, { steps: 10 });
  assert.ok(await desk.page.evaluate(() => document.querySelector('.loose-area').classList.contains('drop-over')), 'the loose area is not highlighted under the mouse');
  await desk.page.mouse.up();
  for (const phone of [desk, giulia]) {
    await phone.page.locator('.loose-area li.note-card', { hasText: b }).waitFor({ timeout: 2_000 });
  }
  // One live connection per person: Marco's phone gave way to his laptop
  // and waits, saying why, instead of fighting it for the session.
  await marco.page.getByText(it('board.replacedHeading')).waitFor({ timeout: 2_000 });
  // A drag does not also open the handle's menu.
  assert.equal(await desk.page.getByRole('menu').count(), 0, 'the move menu opened after a drag');
  t.diagnostic('mouse: dragged a note out of its group');
});

// ---- (c) the keyboard alone ---------------------------------------------------------------

/** Presses Tab until `match(activeElement)` holds (at most `max` times); fails otherwise. */
async function tabTo(page, describe, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate(() => {
      const el = document.activeElement;
      return { label: el?.getAttribute('aria-label') ?? '', text: el?.textContent?.trim() ?? '' };
    });
    if (here.label === describe || here.text === describe) return i + 1;
  }
  assert.fail(`Tab never reached "${describe}"`);
}

/** Presses ArrowDown in an open menu until the focused item says `text`. */
async function arrowTo(page, text, max = 30) {
  for (let i = 0; i < max; i++) {
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (focused === text) return;
    await page.keyboard.press('ArrowDown');
  }
  assert.fail(`ArrowDown never reached "${text}"`);
}

scenario('the keyboard alone moves a note into a group and places a dot', { timeout: 150_000 }, async (world, t) => {
  const session = await world.server.createSession();
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  await giulia.join(world.server.url, session.join_code, GIULIA);
  const tag = unique();
  const [a, b] = [`Il teatro ${tag}`, `La ludoteca ${tag}`];
  await giulia.addNote(Q1, a);
  await giulia.addNote(Q1, b);
  await newGroup(giulia, a, 'Cultura');

  // The facilitator opens voting (3 dots each) on the question.
  const consoleScreen = await openConsole(world, session);
  await consoleScreen.page.getByRole('button', { name: it('console.voting.openLabel', { text: Q1 }) }).click();
  await giulia.page.getByText(it('vote.remaining', { remaining: 3, budget: 3 })).first().waitFor({ timeout: 3_000 });

  // From the top of the page, with Tab, Enter and the arrows only.
  const page = giulia.page;
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  await page.locator('body').focus();
  const tabs = await tabTo(page, it('note.handleLabel', { text: b }));
  await page.keyboard.press('Enter');
  await page.getByRole('menu').waitFor({ timeout: 1_000 });
  await arrowTo(page, it('move.toCluster', { title: 'Cultura' }));
  await page.keyboard.press('Enter');
  await clusterCard(giulia, 'Cultura').locator('li.note-card', { hasText: b }).waitFor({ timeout: 2_000 });
  // Focus went back to the note's handle, so the person knows where they are.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), it('note.handleLabel', { text: b }));
  t.diagnostic(`keyboard: ${tabs} Tabs to the handle, arrows to the group, Enter: moved`);

  // A note in a group has no dot buttons of its own: the group is the one place for them.
  assert.equal(await noteCard(giulia, b).getByRole('button', { name: it('vote.add', { title: b }) }).count(), 0, 'a grouped note offers its own +');
  await tabTo(page, it('vote.add', { title: 'Cultura' }), 30);
  await page.keyboard.press('Enter');
  await clusterCard(giulia, 'Cultura').getByText(it('vote.mine.one', { count: 1 })).first().waitFor({ timeout: 2_000 });
  await page.getByText(it('vote.remaining', { remaining: 2, budget: 3 })).waitFor({ timeout: 2_000 });
  // The console's ranking counts it, for the group.
  await consoleScreen.page.locator('.console-ranking li', { hasText: 'Cultura' }).getByText(it('ranking.votes.one', { count: 1 })).waitFor({ timeout: 3_000 });
  t.diagnostic('keyboard: placed a dot, the console counts it');
});

// ---- (d) votes on the ranking ----------------------------------------------------------------

scenario('dots tally on the facilitator’s ranking; the room sees totals only once revealed; no dot beyond the budget or after closing', { timeout: 180_000 }, async (world, t) => {
  const { session, giulia, marco, proxies } = await twoPhones(world, { proxy: true });
  // Plain texts (each scenario has a server of its own): they are in the screenshots.
  const [a, b, c] = ['Casa delle associazioni', 'Rete dei trasporti', 'Sportello badanti'];
  await addNotes(giulia, [a, b], [marco]);
  await addNotes(marco, [c], [giulia]);
  await newGroup(marco, c, 'Cura');
  await clusterCard(giulia, 'Cura').waitFor({ timeout: 2_000 });

  const consoleScreen = await openConsole(world, session);
  const cpage = consoleScreen.page;
  const projector = await world.openScreen('projector (1920×1080)', { width: 1920, height: 1080 });
  await projector.page.goto(await projectorLinkOf(cpage));
  await projector.page.getByText(session.join_code, { exact: true }).waitFor({ timeout: 15_000 });

  // Open voting with 3 dots each (the session's default, typed anyway).
  const q1OnConsole = cpage.getByRole('region', { name: Q1, exact: true });
  await q1OnConsole.getByLabel(it('console.voting.budget')).fill('3');
  await cpage.getByRole('button', { name: it('console.voting.openLabel', { text: Q1 }) }).click();
  await q1OnConsole.getByText(it('console.voting.isOpen', { budget: 3 })).waitFor({ timeout: 2_000 });
  for (const phone of [giulia, marco]) await phone.page.getByText(it('vote.remaining', { remaining: 3, budget: 3 })).waitFor({ timeout: 2_000 });
  await projector.page.getByText(it('projector.votingOpen')).waitFor({ timeout: 2_000 });

  const add = (phone, title) => phone.page.getByRole('button', { name: it('vote.add', { title }) }).click();
  // Giulia: 2 on a, 1 on the group. Marco: 1 on a, 2 on the group (c, in it, has no buttons of its own).
  assert.equal(await noteCard(marco, c).getByRole('button', { name: it('vote.add', { title: c }) }).count(), 0, 'a grouped note offers its own +');
  await add(giulia, a);
  await add(giulia, a);
  await add(giulia, 'Cura');
  await add(marco, a);
  await add(marco, 'Cura');
  await add(marco, 'Cura');
  await giulia.page.getByText(it('vote.remaining', { remaining: 0, budget: 3 })).waitFor();
  await marco.page.getByText(it('vote.remaining', { remaining: 0, budget: 3 })).waitFor();

  // The console's ranking: the group 3, a 3 (groups first on a tie), b none.
  const ranking = cpage.locator('.console-ranking');
  const row = (title) => ranking.locator('li', { hasText: title });
  await row('Cura').getByText(it('ranking.votes.other', { count: 3 })).waitFor({ timeout: 3_000 });
  await row(a).getByText(it('ranking.votes.other', { count: 3 })).waitFor({ timeout: 3_000 });
  const order = await ranking.locator('.ranking-title').allTextContents();
  assert.deepEqual(order, ['Cura', a], `the ranking is ${JSON.stringify(order)}`);
  // The console sees each note's own total too.
  await cpage.locator('.console-note', { hasText: a }).getByText(it('ranking.votes.other', { count: 3 })).waitFor();
  t.diagnostic(`console ranking: ${JSON.stringify(order)}`);

  // Not revealed: the phones and the projector show no totals and no ranking.
  for (const screen of [giulia, marco, projector]) {
    assert.equal(await screen.page.locator('.ranking-row').count(), 0, `${screen.label} shows a ranking before the reveal`);
    assert.equal(await screen.page.getByText(it('vote.total.other', { count: 3 })).count(), 0, `${screen.label} shows totals`);
  }

  // Over budget: a fourth dot is refused on the phone, with a message, and nothing changes.
  await add(giulia, b);
  await giulia.page.getByRole('alert').getByText(it('vote.error.noDots', { budget: 3 })).waitFor({ timeout: 2_000 });
  await giulia.page.getByRole('alert').getByRole('button', { name: it('refusal.dismiss') }).click();

  // The phone with clusters and voting open, for the README.
  await giulia.page.evaluate(() => {
    document.activeElement?.blur();
    document.querySelector('.voting-bar').scrollIntoView({ block: 'start' });
  });
  await giulia.page.screenshot({ path: join(SCREENSHOT_DIR, 'board-clusters-phone.png'), animations: 'disabled', caret: 'hide' });
  assert.deepEqual(await smallTouchTargets(giulia.page), [], 'controls under 44 px on the board with voting open');
  await giulia.page.setViewportSize({ width: 360, height: 740 });
  const overflow = await horizontalOverflow(giulia.page, 360);
  assert.ok(overflow.ok, `the board scrolls sideways at 360 px: ${overflow.culprits.join(', ')}`);
  await giulia.page.setViewportSize({ width: 412, height: 839 });

  // Reveal: totals and the ranking reach the phones and the projector.
  await cpage.getByRole('button', { name: it('console.voting.revealLabel', { text: Q1 }) }).click();
  for (const screen of [giulia, marco]) {
    await noteCard(screen, a).getByText(it('vote.total.other', { count: 3 })).waitFor({ timeout: 2_000 });
    await screen.page.locator('.ranking-row', { hasText: a }).waitFor({ timeout: 2_000 });
  }
  await projector.page.locator('.room-ranking li', { hasText: a }).getByText(it('ranking.votes.other', { count: 3 })).waitFor({ timeout: 2_000 });
  await projector.page.locator('.room-cluster', { hasText: 'Cura' }).getByText(it('projector.votes.other', { count: 3 })).first().waitFor();
  await cpage.evaluate(() => {
    document.activeElement?.blur();
    document.querySelector('.console-notes').scrollIntoView({ block: 'start' });
  });
  await cpage.screenshot({ path: join(SCREENSHOT_DIR, 'console-voting.png'), animations: 'disabled', caret: 'hide' });
  await projector.screenshot(join(SCREENSHOT_DIR, 'projector-clusters-1920.png'), false);
  t.diagnostic('revealed: phones and projector show totals and the ranking');

  // Closed while Marco's phone has not heard yet: his dot is refused by the server, he is told why, the tally stands.
  // Marco has none left: he takes one back from the group first.
  await marco.page.getByRole('button', { name: it('vote.remove', { title: 'Cura' }) }).click();
  await row('Cura').getByText(it('ranking.votes.other', { count: 2 })).waitFor({ timeout: 3_000 });
  proxies[1].hold();
  await cpage.getByRole('button', { name: it('console.voting.closeLabel', { text: Q1 }) }).click();
  await q1OnConsole.getByText(it('console.voting.isClosed')).waitFor();
  await giulia.page.getByRole('button', { name: it('vote.add', { title: a }) }).waitFor({ state: 'detached', timeout: 2_000 });
  await add(marco, 'Cura');
  proxies[1].release();
  await marco.page.locator('.refusal-notice').getByText(it('refusal.voting_closed')).waitFor({ timeout: 3_000 });
  await marco.page.getByRole('button', { name: it('vote.add', { title: 'Cura' }) }).waitFor({ state: 'detached', timeout: 3_000 });
  await row('Cura').getByText(it('ranking.votes.other', { count: 2 })).waitFor();
  await clusterCard(giulia, 'Cura').getByText(it('vote.total.other', { count: 2 })).first().waitFor({ timeout: 2_000 });
  t.diagnostic('closed voting: the late dot was refused, Marco was told, the tally stands');
});

// ---- moderation ----------------------------------------------------------------------------

scenario('the facilitator hides a note with a reason (its author still sees it, and why) and removes another for everyone', { timeout: 120_000 }, async (world, t) => {
  const { session, giulia, marco } = await twoPhones(world);
  const tag = unique();
  const [rude, spam] = [`Nota fuori luogo ${tag}`, `Pubblicità ${tag}`];
  await addNotes(marco, [rude, spam], [giulia]);
  const consoleScreen = await openConsole(world, session);
  const cpage = consoleScreen.page;
  const onConsole = (text) => cpage.locator('.console-note', { hasText: text });
  await onConsole(rude).waitFor({ timeout: 3_000 });

  // Hide, with a reason: gone from Giulia's phone, still on Marco's with the reason, marked on the console.
  await onConsole(rude).getByRole('button', { name: it('console.moderateLabel', { text: rude }) }).click();
  await onConsole(rude).getByLabel(it('console.reason')).fill('linguaggio offensivo');
  await onConsole(rude).getByRole('button', { name: it('console.hide'), exact: true }).click();
  await noteCard(giulia, rude).waitFor({ state: 'detached', timeout: 2_000 });
  await noteCard(marco, rude).getByText(it('note.hiddenByFacilitator', { reason: 'linguaggio offensivo' })).waitFor({ timeout: 2_000 });
  await onConsole(rude).getByText(it('console.hiddenReason', { reason: 'linguaggio offensivo' })).waitFor();
  t.diagnostic('hidden: gone for the others, its author sees why');

  // Show it again: back on Giulia's phone.
  await onConsole(rude).getByRole('button', { name: it('console.moderateLabel', { text: rude }) }).click();
  await onConsole(rude).getByRole('button', { name: it('console.unhide') }).click();
  await noteCard(giulia, rude).waitFor({ timeout: 2_000 });

  // Remove, confirmed: gone everywhere.
  await onConsole(spam).getByRole('button', { name: it('console.moderateLabel', { text: spam }) }).click();
  await onConsole(spam).getByLabel(it('console.reason')).fill('pubblicità');
  await onConsole(spam).getByRole('button', { name: it('console.remove'), exact: true }).click();
  await onConsole(spam).getByRole('button', { name: it('console.removeYes') }).click();
  for (const phone of [giulia, marco]) await noteCard(phone, spam).waitFor({ state: 'detached', timeout: 2_000 });
  await onConsole(spam).waitFor({ state: 'detached', timeout: 2_000 });
  t.diagnostic('removed: gone from both phones and the console');
});

// ---- (e) a category chosen on purpose; questions that fold ----------------------------------

// Phase 2 of the built-in template: resources, with categories.
const PHASE_2 = 'Materia prima e dote sociale';
const Q_RAW = "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?";

scenario('a note under a question with categories asks for one (or «Altro»); a question folds, keeps counting, stays folded on reload', {}, async (world, t) => {
  const session = await world.server.createSession();
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13)');
  await giulia.join(world.server.url, session.join_code, GIULIA);
  await marco.join(world.server.url, session.join_code, MARCO);
  const consoleScreen = await openConsole(world, session);
  await consoleScreen.page.getByRole('button', { name: it('console.advance', { number: 2, title: PHASE_2 }) }).click();
  for (const phone of [giulia, marco]) await phone.page.getByRole('heading', { level: 1, name: PHASE_2 }).waitFor({ timeout: 5_000 });

  // The category question is worded for what the notes are: resources.
  const section = giulia.question(Q_RAW);
  const tag = unique();
  const first = `La sala civica ${tag}`;
  await section.getByLabel(it('composer.label'), { exact: true }).fill(first);
  await section.getByRole('group', { name: it('composer.category.resource') }).waitFor({ timeout: 2_000 });
  // Pressing Aggiungi without choosing: nothing is added, the person is told, the keyboard is on the choices.
  await section.getByRole('button', { name: it('composer.submit'), exact: true }).click();
  await section.getByText(it('composer.categoryMissing')).waitFor({ timeout: 2_000 });
  assert.equal(await giulia.page.evaluate(() => document.activeElement?.getAttribute('type')), 'radio', 'focus is not on the categories');
  assert.equal(await section.locator('li.note-card').count(), 0, 'a note was added without a category chosen');
  assert.equal(await section.getByLabel(it('composer.label'), { exact: true }).inputValue(), first, 'the text was lost');
  await section.getByRole('group', { name: it('composer.category.resource') }).scrollIntoViewIfNeeded();
  await giulia.page.screenshot({ path: join(SCREENSHOT_DIR, 'board-category-asked.png'), animations: 'disabled', caret: 'hide' });
  // «Altro» is a choice: the note goes in, with no category.
  await section.getByRole('radio', { name: it('composer.noCategory'), exact: true }).check();
  assert.equal(await section.getByText(it('composer.categoryMissing')).count(), 0, 'the message stays after choosing');
  await section.getByRole('button', { name: it('composer.submit'), exact: true }).click();
  await marco.question(Q_RAW).locator('li.note-card', { hasText: first }).waitFor({ timeout: 3_000 });
  // A category chosen shows on everyone's board.
  const second = `Le feste di quartiere ${tag}`;
  await giulia.addNote(Q_RAW, second, { category: 'Tradizioni' });
  await marco.question(Q_RAW).locator('li.note-card', { hasText: second }).getByText('Tradizioni', { exact: true }).waitFor({ timeout: 3_000 });
  t.diagnostic('category: asked for before adding, «Altro» accepted, a chosen one shown to others');

  // Folding: the question becomes one line with its count; notes keep arriving and counting.
  const toggle = section.getByRole('button', { name: Q_RAW });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true', 'questions start open');
  const tallBefore = await giulia.page.evaluate(() => document.documentElement.scrollHeight);
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await section.getByLabel(it('composer.label'), { exact: true }).waitFor({ state: 'hidden', timeout: 1_000 });
  await toggle.getByText(it('board.notes.other', { count: 2 })).waitFor({ timeout: 1_000 });
  await marco.addNote(Q_RAW, `L’orto dei nonni ${tag}`);
  await toggle.getByText(it('board.notes.other', { count: 3 })).waitFor({ timeout: 3_000 });
  await giulia.screenshot(join(SCREENSHOT_DIR, 'board-question-folded.png'));
  const tallAfter = await giulia.page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(tallAfter < tallBefore, `folding did not shorten the page (${tallBefore} → ${tallAfter} px)`);
  // Marco's board is his own: the question stays open there.
  assert.equal(await marco.question(Q_RAW).getByRole('button', { name: Q_RAW }).getAttribute('aria-expanded'), 'true');

  // A reload keeps the person's choice; opening it again shows all three notes.
  await giulia.page.reload();
  await giulia.badge('connected').waitFor({ timeout: 15_000 });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'the fold was forgotten on reload');
  await toggle.click();
  await section.locator('li.note-card', { hasText: tag }).nth(2).waitFor({ timeout: 2_000 });
  assert.equal(await section.locator('li.note-card', { hasText: tag }).count(), 3);
  t.diagnostic(`fold: page ${tallBefore} → ${tallAfter} px, count kept live, remembered on reload`);
});
