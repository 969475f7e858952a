// Privacy in a real browser: the notice a phone shows before anything
// personal is sent (who holds the data, who sees what, for how long, whom
// to ask); a participant withdrawing a note, which leaves no trace in the
// board's history; and a facilitator deleting the session from the console
// — the phones and the projector are told, and the server forgets the code.
//
// Run: cd tests/e2e && node --test privacy.test.mjs

import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as A from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import {
  GIULIA,
  horizontalOverflow,
  it,
  MARCO,
  OUTPUT_DIR,
  projectorLinkOf,
  scenario,
  SCREENSHOT_DIR,
  smallTouchTargets,
  unique,
} from './harness.mjs';
import { joinByApi, TicketedAdapter, until } from './stock.mjs';

const Q1 = "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?";

/** The iPhone 13's layout width, the phone the join screenshots are taken on. */
const PHONE_WIDTH = 390;

async function joinInfo(base, code) {
  const response = await fetch(`${base}/api/join/${code}`);
  return { status: response.status, body: await response.json() };
}

/** The notice on the join form, found by its heading. */
const noticeOf = (page) => page.getByRole('region', { name: it('privacy.heading'), exact: true });

/** The storage keys of this origin that belong to Tavolo. */
const tavoloKeys = (page, kind) =>
  page.evaluate((kind) => Object.keys(window[kind]).filter((k) => k.startsWith('tavolo:') && k !== 'tavolo:lang'), kind);

scenario('the join page says how the data are used before anything is sent', {}, async (world, t) => {
  const session = await world.server.createSession();
  const base = world.server.url;
  const info = await joinInfo(base, session.join_code);
  assert.equal(info.status, 200, `GET /api/join/${session.join_code} → ${info.status}`);
  const { controller, contact } = info.body.privacy;
  assert.ok(controller.trim(), 'the built-in template names no controller');

  const phone = await world.openPhone('iPhone 13', 'Giulia (iPhone 13)');
  const page = phone.page;
  const sent = [];
  page.on('request', (r) => {
    if (r.method() !== 'GET' && new URL(r.url()).pathname.startsWith('/api/')) sent.push(`${r.method()} ${r.url()}`);
  });

  await phone.fillJoinForm(base, session.join_code, GIULIA);
  const notice = noticeOf(page);
  await notice.waitFor();
  // The session's own words, from the server, not the general ones.
  await notice.getByText(controller, { exact: true }).waitFor({ timeout: 5_000 });
  if (contact.trim()) await notice.getByText(contact.trim(), { exact: true }).waitFor();
  await page.getByText(it('join.sessionTitle', { title: info.body.title }), { exact: true }).waitFor();
  for (const key of [
    'privacy.purpose.text',
    'privacy.visibility.table',
    'privacy.visibility.signed',
    'privacy.visibility.anonymous',
    'privacy.visibility.report',
    'privacy.visibility.dots',
    'privacy.retention.text',
    'privacy.rights.notes',
    'privacy.rights.session',
  ]) {
    // Open on the page, nothing to tap to read it.
    assert.ok(await notice.getByText(it(key), { exact: true }).isVisible(), `the notice does not show '${it(key)}'`);
  }
  assert.equal(await page.locator('.join-form details').count(), 0, 'part of the form is folded away');

  // Above the button, before anything personal leaves the phone.
  const submit = page.getByRole('button', { name: it('join.submit'), exact: true });
  const noticeBox = await notice.boundingBox();
  const submitBox = await submit.boundingBox();
  assert.ok(noticeBox.y + noticeBox.height <= submitBox.y, 'the notice is not above the submit button');
  assert.deepEqual(sent, [], 'the page sent something before the person pressed the button');

  assert.deepEqual(await smallTouchTargets(page), [], 'controls under 44 px on the join page');
  const overflow = await horizontalOverflow(page, PHONE_WIDTH);
  assert.ok(overflow.ok, `the join page scrolls sideways: ${JSON.stringify(overflow)}`);
  const fontSize = await notice.locator('dd').first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(fontSize >= 16, `the notice's text is ${fontSize} px`);

  // The screenshot: the notice and the button under it, as the phone shows them.
  // From the top, so the sticky bar stays at the top of the page rather than across the notice.
  await page.evaluate(async () => {
    window.scrollTo(0, 0);
    await document.fonts.ready;
  });
  const top = await notice.evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
  const bottom = await submit.evaluate((el) => el.getBoundingClientRect().bottom + window.scrollY);
  await page.screenshot({
    path: join(SCREENSHOT_DIR, 'join-privacy-phone.png'),
    fullPage: true,
    clip: { x: 0, y: Math.max(0, top - 16), width: PHONE_WIDTH, height: bottom - top + 32 },
    animations: 'disabled',
    caret: 'hide',
  });
  t.diagnostic('wrote docs/screenshots/join-privacy-phone.png');

  // A code no session has, and a server that cannot be reached: the notice
  // still says it all, in general words.
  for (const [label, setUp] of [
    ['an unknown code', async () => {}],
    ['no network', async () => page.route('**/api/join/*', (route) => route.abort('internetdisconnected'))],
  ]) {
    await setUp();
    await page.goto(`${base}/j/${label === 'an unknown code' ? 'ZZZZ22' : session.join_code}`);
    await noticeOf(page).getByText(it('privacy.controller.fallback'), { exact: true }).waitFor({ timeout: 5_000 });
    await noticeOf(page).getByText(it('privacy.contact.fallback'), { exact: true }).waitFor();
    t.diagnostic(`${label}: the notice says it in general words`);
  }
});

scenario('the facilitator deletes the session: phones and projector are told, the server forgets it', { timeout: 180_000 }, async (world, t) => {
  const session = await world.server.createSession();
  const base = world.server.url;
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  await giulia.join(base, session.join_code, GIULIA);
  const noteText = `Un orto condiviso dietro la biblioteca ${unique()}`;
  await giulia.addNote(Q1, noteText);

  const consoleScreen = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
  const console = consoleScreen.page;
  await console.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
  await console.getByRole('heading', { level: 1, name: 'Prima sessione del Tavolo di Negoziazione' }).waitFor({ timeout: 15_000 });
  const projector = await world.openScreen('projector (1280×720)', { width: 1280, height: 720 });
  await projector.page.goto(await projectorLinkOf(console));
  await projector.page.getByText(noteText).waitFor({ timeout: 15_000 });

  // The section at the end of the console, and its confirmation.
  const section = console.getByRole('region', { name: it('console.delete.heading'), exact: true });
  await section.scrollIntoViewIfNeeded();
  await section.getByText(it('console.delete.reportFirst'), { exact: true }).waitFor();
  await section.getByRole('button', { name: it('console.delete.open'), exact: true }).click();
  const dialog = console.getByRole('dialog', { name: it('console.delete.confirmHeading', { title: 'Prima sessione del Tavolo di Negoziazione' }) });
  await dialog.waitFor();
  const confirm = dialog.getByRole('button', { name: it('console.delete.confirm'), exact: true });
  const typed = dialog.getByLabel(it('console.delete.typeLabel', { word: it('console.delete.word') }), { exact: true });
  assert.ok(await confirm.isDisabled(), 'the delete button is awake before anything is typed');
  await typed.fill('ELIMIN');
  assert.ok(await confirm.isDisabled(), 'the delete button wakes up for a word that is not the one');
  await typed.fill(it('console.delete.word'));
  assert.ok(await confirm.isEnabled(), 'the delete button stays asleep after the word was typed');
  await console.screenshot({ path: join(OUTPUT_DIR, 'console-delete-dialog.png') });

  const watch = await giulia.watchFor(it('session.deleted.text'), 10_000);
  const clickedAt = Date.now();
  await confirm.click();

  // The console's last screen; nothing of the session stays in the tab.
  await console.getByRole('heading', { level: 1, name: it('console.delete.done.heading') }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await tavoloKeys(console, 'sessionStorage'), [], 'the console kept credentials of a deleted session');
  await console.screenshot({ path: join(OUTPUT_DIR, 'console-deleted.png') });

  // The phone is told, and stops: no retry, no board.
  const seen = await watch.seenAt();
  assert.ok(seen, 'the phone did not say the session was deleted');
  t.diagnostic(`delete → phone told in about ${Date.now() - clickedAt} ms or less`);
  await giulia.page.getByRole('heading', { name: it('session.deleted.heading'), exact: true }).waitFor();
  await giulia.badge('deleted').waitFor();
  assert.equal(await giulia.page.getByText(noteText).count(), 0, 'the phone still shows the board');
  assert.deepEqual(await tavoloKeys(giulia.page, 'localStorage'), [], 'the phone kept the ticket of a deleted session');
  assert.deepEqual(await smallTouchTargets(giulia.page), [], 'controls under 44 px on the deleted screen');
  const overflow = await horizontalOverflow(giulia.page, 412);
  assert.ok(overflow.ok, `the deleted screen scrolls sideways: ${JSON.stringify(overflow)}`);
  await giulia.screenshot(join(SCREENSHOT_DIR, 'session-deleted-phone.png'), false);
  t.diagnostic('wrote docs/screenshots/session-deleted-phone.png');

  // The projector too.
  await projector.page.getByText(it('session.deleted.text'), { exact: true }).waitFor({ timeout: 10_000 });
  assert.equal(await projector.page.getByText(noteText).count(), 0, 'the projector still shows the notes');
  await projector.page.screenshot({ path: join(OUTPUT_DIR, 'projector-deleted.png') });

  // The server has forgotten the code.
  const after = await joinInfo(base, session.join_code);
  assert.equal(after.status, 404, `GET /api/join/${session.join_code} after deletion → ${after.status}`);

  // A reload goes back to the join form, which can only speak in general words now.
  await giulia.page.reload();
  await giulia.page.waitForURL((url) => url.pathname === `/j/${session.join_code}`, { timeout: 10_000 });
  await noticeOf(giulia.page).getByText(it('privacy.controller.fallback'), { exact: true }).waitFor({ timeout: 5_000 });
});

/**
 * Every string a stock client finds in the whole history of the session's
 * first question (a text's characters in a row), read with a participant
 * ticket of its own.
 */
async function historyOfFirstQuestion(server, code) {
  const reader = await joinByApi(server, code, 'Lettore');
  const repo = new Repo({ network: [new TicketedAdapter(`${server.url.replace(/^http/, 'ws')}/sync`, reader.ticket)] });
  try {
    const session = await repo.find(reader.session_doc);
    await until(session, (d) => d?.phases?.length > 0, 10_000, 'the session document');
    const question = await repo.find(String(session.doc().phases[0].questions[0].doc));
    await until(question, (d) => d?.notes !== undefined, 10_000, 'the question document');
    return A.getAllChanges(question.doc())
      .map((c) => A.decodeChange(c))
      .map((c) => c.ops.map((o) => (typeof o.value === 'string' ? o.value : '')).join(''))
      .join('\n');
  } finally {
    await repo.shutdown();
  }
}

scenario('a participant withdraws a note: it leaves every phone and the board\'s history', { timeout: 180_000 }, async (world, t) => {
  const session = await world.server.createSession();
  const base = world.server.url;
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  await giulia.join(base, session.join_code, GIULIA);
  const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13)');
  await marco.join(base, session.join_code, MARCO);
  const text = `Una cosa detta di troppo ${unique()}`;
  await giulia.addNote(Q1, text);
  await marco.page.getByText(text).waitFor({ timeout: 10_000 });
  assert.ok((await historyOfFirstQuestion(world.server, session.join_code)).includes(text), 'the check cannot see a note in the history');

  // "Puoi eliminare le tue note finché la fase è aperta."
  const card = giulia.question(Q1).locator('li.note-card', { hasText: text });
  await card.getByRole('button', { name: it('note.edit'), exact: true }).click();
  // (The card being edited shows the form, not the text: found by its buttons.)
  await giulia.question(Q1).getByRole('button', { name: it('note.delete'), exact: true }).click();
  await giulia.question(Q1).getByRole('button', { name: it('note.deleteYes'), exact: true }).click();
  await marco.page.getByText(text).waitFor({ state: 'detached', timeout: 10_000 });
  await giulia.page.getByText(text).waitFor({ state: 'detached', timeout: 10_000 });
  // The board was rewritten under both phones without a word to either.
  for (const phone of [giulia, marco]) {
    assert.equal(await phone.page.getByText(it('refusal.heading')).count(), 0, `${phone.label} shows a refusal`);
    await phone.badge('connected').waitFor({ timeout: 10_000 });
  }
  const after = await historyOfFirstQuestion(world.server, session.join_code);
  assert.ok(!after.includes(text), 'the withdrawn note is still in the board\'s history');
  // And the board still works: Marco writes on the rewritten board.
  const next = `Dopo il ritiro ${unique()}`;
  await marco.addNote(Q1, next);
  await giulia.page.getByText(next).waitFor({ timeout: 10_000 });
  t.diagnostic('withdrawn: gone from both phones and from the history a stock client reads');
});
