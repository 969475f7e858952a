// The facilitated, hybrid room in a real browser: two phones (one in the
// room, one remote), the facilitator's console on a laptop and the
// projector, all on one session. The facilitator advances, locks, runs the
// timer and spotlights a note; the phones and the projector follow.
//
// Run: cd tests/e2e && npm test

import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  devices,
  GIULIA,
  horizontalOverflow,
  it,
  MARCO,
  OUTPUT_DIR,
  projectorLinkOf,
  scenario,
  SCREENSHOT_DIR,
  smallTouchTargets,
} from './harness.mjs';

const PHASE_1 = 'Legittimazione reciproca';
const PHASE_2 = 'Materia prima e dote sociale';
const P2_Q1 =
  "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?";
const P2_Q3 =
  'Quali pratiche di collaborazione, cura e mutuo aiuto sono già presenti nel nostro territorio e meritano di essere rese visibili, strategiche e continuative?';


/** How long the phones and the projector may take to follow the facilitator. */
const FOLLOW_BUDGET_MS = 1000;


/** The seconds a page's timer shows (`m:ss`), with the page's clock when it was read. */
async function readTimer(screen) {
  const { text, at } = await screen.page.evaluate(() => ({
    text: document.querySelector('[role=timer]')?.textContent ?? '',
    at: Date.now(),
  }));
  const m = /^(\d+):(\d\d)$/.exec(text.trim());
  assert.ok(m, `${screen.label}: the timer shows '${text}'`);
  return { seconds: Number(m[1]) * 60 + Number(m[2]), at, text };
}

/** Clicks `locator` and returns the page's `Date.now()` at the click. */
async function clickAt(screen, locator) {
  await locator.evaluate((el) => {
    el.addEventListener('click', () => (window.__tavoloClickAt = Date.now()), { once: true, capture: true });
  });
  await locator.click();
  return screen.page.evaluate(() => window.__tavoloClickAt);
}

async function inViewport(locator) {
  return locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  });
}

scenario(
  'the facilitator leads two phones and the projector: advance, lock, note, presence, timer, spotlight',
  { timeout: 240_000 },
  async (world, t) => {
    const session = await world.server.createSession();
    const base = world.server.url;
    const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7, in sala)');
    const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13, da remoto)');
    await giulia.join(base, session.join_code, GIULIA);
    await marco.join(base, session.join_code, MARCO);
    const phones = [giulia, marco];

    const consolePage = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
    await consolePage.page.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
    const console = consolePage.page;
    await console
      .getByRole('heading', { name: it('console.currentPhase', { number: 1, title: PHASE_1 }) })
      .waitFor({ timeout: 15_000 });
    // The key leaves the address bar at once and is nowhere in the page.
    assert.equal(new URL(console.url()).hash, '', 'the key is still in the console’s address bar');
    assert.ok(!(await console.content()).includes(session.facilitator_key), 'the console shows the facilitator key');

    // The projector gets its own link: a viewer ticket, no facilitator power.
    const projectorUrl = await projectorLinkOf(console);
    assert.match(projectorUrl, new RegExp(`/p/${session.session_id}#v=[0-9a-f]+$`));
    assert.ok(!projectorUrl.includes(session.facilitator_key), 'the projector link carries the facilitator key');
    const projector = await world.openScreen('projector (1920×1080)', { width: 1920, height: 1080 });
    await projector.page.goto(projectorUrl);
    await projector.page.getByRole('heading', { name: PHASE_1 }).waitFor({ timeout: 15_000 });
    assert.equal(new URL(projector.page.url()).hash, '', 'the viewer ticket is still in the projector’s address bar');
    await projector.page.getByText(session.join_code, { exact: true }).waitFor();
    await projector.page.getByRole('img', { name: it('console.qr') }).waitFor();

    // (d) Presence: one phone in the room, one remote, on the projector and the console.
    const projectorCounts = (inRoom, remote) => projector.page.getByText(it('projector.counts', { inRoom, remote }), { exact: true });
    const consoleCounts = (inRoom, remote) =>
      console.getByText(it('console.participants.counts', { online: inRoom + remote, inRoom, remote }), { exact: true });
    await projectorCounts(1, 1).waitFor({ timeout: 5_000 });
    await consoleCounts(1, 1).waitFor({ timeout: 5_000 });
    for (const person of [GIULIA, MARCO]) {
      const row = console.getByRole('row').filter({ hasText: person.name });
      await row.getByText(it('console.online'), { exact: true }).waitFor({ timeout: 5_000 });
      await row.getByText(it(`attendance.${person.attendance}`), { exact: true }).waitFor();
    }
    t.diagnostic('presence: projector and console show 1 in the room, 1 remote, both online');

    // (a) Advance: both phones move to phase 2 within a second, and say so.
    const watches = await Promise.all(phones.map((p) => p.watchFor(PHASE_2, 10_000)));
    const advance = console.getByRole('button', { name: it('console.advance', { number: 2, title: PHASE_2 }) });
    const advancedAt = await clickAt(consolePage, advance);
    for (const [i, phone] of phones.entries()) {
      const seen = await watches[i].seenAt();
      assert.ok(seen, `${phone.label} did not move to phase 2`);
      const took = seen.paintAt - advancedAt;
      t.diagnostic(`advance → ${phone.label} on phase 2: ${took} ms`);
      assert.ok(took < FOLLOW_BUDGET_MS, `${phone.label} took ${took} ms to move to phase 2`);
      await phone.page.getByRole('heading', { level: 1, name: PHASE_2 }).waitFor({ timeout: 1_000 });
      await phone.page.getByText(it('board.phaseChanged', { number: 2, title: PHASE_2 })).waitFor({ timeout: 1_000 });
    }
    await projector.page.getByRole('heading', { name: PHASE_2 }).waitFor({ timeout: 1_000 });

    // (c) A note from a phone on the projector within a second.
    const noteText = 'Le feste di quartiere e la banda';
    const onProjector = await projector.watchFor(noteText, 10_000);
    const addedAt = await giulia.addNote(P2_Q1, noteText);
    const seenNote = await onProjector.seenAt();
    assert.ok(seenNote, 'the projector did not show the note');
    const noteLatency = seenNote.paintAt - addedAt;
    t.diagnostic(`note on ${giulia.label} → projector: ${noteLatency} ms`);
    assert.ok(noteLatency < FOLLOW_BUDGET_MS, `the note took ${noteLatency} ms to reach the projector`);
    // Never the name; the sector, and the organization only once the
    // facilitator lets public screens show it (the projector is one).
    const onScreen = projector.page.getByRole('listitem').filter({ hasText: noteText });
    await onScreen.getByText(it(`sector.${GIULIA.sector}`), { exact: true }).waitFor();
    assert.equal(await onScreen.getByText(GIULIA.organization).count(), 0, 'the projector shows an organization the session keeps private');
    assert.equal(await onScreen.getByText(GIULIA.name).count(), 0, 'the projector shows a participant’s name');
    await console.getByRole('checkbox', { name: it('report.organizationsPublic'), exact: true }).check();
    await onScreen.getByText(GIULIA.organization).waitFor({ timeout: 5_000 });
    assert.equal(await onScreen.getByText(GIULIA.name).count(), 0, 'the projector shows a participant’s name');

    // (e) Timer: 10 minutes from the console; the same time on all four screens.
    await console.getByRole('button', { name: it('console.timer.presetLabel', { minutes: 10 }) }).click();
    const screens = [consolePage, projector, giulia, marco];
    for (const s of screens) await s.page.getByRole('timer').waitFor({ timeout: 5_000 });
    // What each screen shows, read at once: never more than a second apart.
    const reads = await Promise.all(screens.map(readTimer));
    const shownSpread = Math.max(...reads.map((r) => r.seconds)) - Math.min(...reads.map((r) => r.seconds));
    t.diagnostic(`timer shown: ${screens.map((s, i) => `${s.label} ${reads[i].text}`).join(', ')}`);
    assert.ok(shownSpread <= 1, `the screens show times ${shownSpread} s apart`);
    assert.ok(reads[0].seconds <= 600 && reads[0].seconds >= 590, `the timer shows ${reads[0].text}`);
    // Finer: the moment each screen turns to the same second, three times (page clocks, one machine).
    for (let round = 0; round < 3; round++) {
      const current = (await readTimer(consolePage)).seconds;
      const target = `${Math.floor((current - 2) / 60)}:${String((current - 2) % 60).padStart(2, '0')}`;
      const flips = await Promise.all(
        screens.map((s) =>
          s.page.waitForFunction(
            (target) => (document.querySelector('[role=timer]')?.textContent === target ? Date.now() : false),
            target,
            { timeout: 5_000, polling: 'raf' },
          ),
        ),
      );
      const at = await Promise.all(flips.map((h) => h.jsonValue()));
      const skew = Math.max(...at) - Math.min(...at);
      t.diagnostic(`timer turned to ${target} on all four screens within ${skew} ms (${screens.map((s, i) => `${s.label} +${at[i] - Math.min(...at)}`).join(', ')})`);
      assert.ok(skew < 1000, `the screens turned to ${target} ${skew} ms apart`);
    }

    // (b) Lock: the phones can no longer add notes, and say why; unlock gives it back.
    await console.getByRole('button', { name: it('console.lockLabel', { number: 2, title: PHASE_2 }) }).click();
    for (const phone of phones) {
      await phone.page.getByText(it('board.phaseLockedWhy')).waitFor({ timeout: 2_000 });
      await phone.page.getByRole('button', { name: it('composer.submit'), exact: true }).first().waitFor({ state: 'detached', timeout: 2_000 });
      assert.equal(await phone.page.getByRole('textbox', { name: it('composer.label') }).count(), 0, `${phone.label} still offers a composer`);
      await phone.page.getByText(it('board.phaseLocked')).first().waitFor();
    }
    for (const phone of phones) await phone.page.evaluate(() => document.activeElement?.blur());
    await assertPhoneFriendly(giulia, 'locked phase with the timer', 412, t);
    await assertPhoneFriendly(marco, 'locked phase with the timer', 390, t);
    await giulia.screenshot(join(SCREENSHOT_DIR, 'phone-locked.png'), false);
    // The narrowest phones still in use.
    await giulia.page.setViewportSize({ width: 360, height: 740 });
    await assertPhoneFriendly(giulia, 'locked phase with the timer at 360 px', 360, t);
    await giulia.page.setViewportSize(devices['Pixel 7'].viewport);
    t.diagnostic('locked: both phones explain it and offer no composer');

    await console.getByRole('button', { name: it('console.unlockLabel', { number: 2, title: PHASE_2 }) }).click();
    for (const phone of phones) {
      await phone.page.getByRole('button', { name: it('composer.submit'), exact: true }).first().waitFor({ timeout: 2_000 });
      assert.equal(await phone.page.getByText(it('board.phaseLockedWhy')).count(), 0);
    }

    // (f) Spotlight: Marco is looking back at phase 1; the spotlight brings him to the note, highlighted.
    const spotText = 'La rete delle badanti di condominio';
    await giulia.addNote(P2_Q3, spotText);
    await console.getByText(spotText).waitFor({ timeout: 5_000 });
    await marco.page.getByRole('button', { name: it('board.nav.goTo', { number: 1, title: PHASE_1 }) }).click();
    await marco.page.getByRole('heading', { level: 1, name: PHASE_1 }).waitFor({ timeout: 2_000 });
    await marco.page.getByRole('button', { name: it('board.backToCurrent') }).waitFor();
    const spotAt = Date.now();
    await console.getByRole('button', { name: it('console.spotlightLabel', { text: spotText }) }).click();
    const marcoNote = marco.note(P2_Q3, spotText);
    await marcoNote.getByText(it('spotlight.label'), { exact: true }).waitFor({ timeout: 2_000 });
    await marco.page.waitForFunction(
      (text) => {
        const li = [...document.querySelectorAll('li.note-spotlight')].find((el) => el.textContent.includes(text));
        if (!li) return false;
        const box = li.getBoundingClientRect();
        return box.top >= 0 && box.bottom <= window.innerHeight;
      },
      spotText,
      { timeout: 3_000 },
    );
    t.diagnostic(`spotlight: ${marco.label} on the note, in view and highlighted ${Date.now() - spotAt} ms after the click`);
    assert.ok(await inViewport(marcoNote), 'the spotlighted note is not in view');
    await giulia.note(P2_Q3, spotText).getByText(it('spotlight.label'), { exact: true }).waitFor({ timeout: 2_000 });
    await projector.page.getByRole('listitem').filter({ hasText: spotText }).getByText(it('spotlight.label')).waitFor({ timeout: 2_000 });

    // Screenshots, with notes, a timer and a spotlight on screen.
    const more = [
      [marco, P2_Q1, 'La Fiera di San Martino e i suoi volontari'],
      [giulia, P2_Q1, 'Il centro giovani e le palestre delle scuole, aperte il pomeriggio'],
      [marco, P2_Q3, 'I gruppi di acquisto solidale e le reti di vicinato'],
    ];
    for (const [phone, q, text] of more) await phone.addNote(q, text);
    await projector.page.getByText(more[2][2]).waitFor({ timeout: 5_000 });
    await console.getByText(more[2][2]).waitFor({ timeout: 5_000 });
    await consolePage.screenshot(join(SCREENSHOT_DIR, 'facilitator-console.png'), false);
    await projector.screenshot(join(SCREENSHOT_DIR, 'projector-1920.png'), false);
    assert.equal(await projector.page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight), true, 'the projector scrolls at 1920×1080');
    await projector.page.setViewportSize({ width: 1280, height: 720 });
    await projector.screenshot(join(SCREENSHOT_DIR, 'projector-1280.png'), false);
    assert.equal(await projector.page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight), true, 'the projector scrolls at 1280×720');

    // Stop the spotlight.
    await console.getByRole('button', { name: it('console.stopSpotlight') }).first().click();
    await marcoNote.getByText(it('spotlight.label'), { exact: true }).waitFor({ state: 'detached', timeout: 2_000 });

    // (d) A phone leaves: the counts drop on the projector and the console.
    const closedAt = Date.now();
    await marco.page.close();
    await projectorCounts(1, 0).waitFor({ timeout: 10_000 });
    await consoleCounts(1, 0).waitFor({ timeout: 10_000 });
    await console.getByRole('row').filter({ hasText: MARCO.name }).getByText(it('console.offline'), { exact: true }).waitFor();
    t.diagnostic(`presence: ${marco.label} closed, counts dropped to 1 in the room, 0 remote in ${Date.now() - closedAt} ms`);
    world.phones.splice(world.phones.indexOf(marco), 1);

    // The console's projector button opens the room view in this browser, with the viewer link.
    const [opened] = await Promise.all([
      consolePage.context.waitForEvent('page'),
      console.getByRole('link', { name: it('console.projector.open') }).click(),
    ]);
    await opened.getByRole('heading', { name: PHASE_2 }).waitFor({ timeout: 10_000 });
    await opened.getByText(it('projector.counts', { inRoom: 1, remote: 0 }), { exact: true }).waitFor({ timeout: 5_000 });
    t.diagnostic('the console’s projector button opened the room view in a new tab');
    await opened.close();

    // Jumping back to any phase takes the phones there too.
    await console.getByRole('button', { name: it('console.jumpLabel', { number: 1, title: PHASE_1 }) }).click();
    await giulia.page.getByRole('heading', { level: 1, name: PHASE_1 }).waitFor({ timeout: 2_000 });
    await projector.page.getByRole('heading', { name: PHASE_1 }).waitFor({ timeout: 2_000 });
    await consolePage.page.screenshot({ path: join(OUTPUT_DIR, 'facilitator-console-full.png'), fullPage: true });
    // Usable on a tablet held upright: one column, nothing sticking out, controls big enough.
    await console.setViewportSize({ width: 820, height: 1180 });
    const overflow = await horizontalOverflow(console, 820);
    assert.ok(overflow.ok, `the console at 820 px scrolls sideways:\n  ${overflow.culprits.join('\n  ')}`);
    const small = await smallTouchTargets(console);
    assert.deepEqual(small, [], `the console at 820 px has controls under 44 px:\n  ${small.join('\n  ')}`);
    await consolePage.page.screenshot({ path: join(OUTPUT_DIR, 'facilitator-console-tablet.png'), fullPage: false });
    t.diagnostic('the console fits an 820 px tablet: no sideways scroll, controls ≥ 44 px');
  },
);

/** Fails listing every control under 44 px and the overflow, if any. */
async function assertPhoneFriendly(phone, where, expectedWidth, t) {
  const small = await smallTouchTargets(phone.page);
  assert.deepEqual(small, [], `${where} on ${phone.label}: touch targets under 44 px:\n  ${small.join('\n  ')}`);
  const overflow = await horizontalOverflow(phone.page, expectedWidth);
  assert.ok(
    overflow.ok,
    `${where} on ${phone.label}: scrollWidth ${overflow.scrollWidth} px, innerWidth ${overflow.innerWidth} px; sticking out:\n  ${overflow.culprits.join('\n  ')}`,
  );
  t.diagnostic(`${where} on ${phone.label}: every control ≥ 44 px tall, no sideways scroll`);
}

scenario(
  'the facilitator closes joining and changes the key: newcomers are told, old links and screens stop, the console carries on',
  { timeout: 180_000 },
  async (world, t) => {
    const session = await world.server.createSession();
    const base = world.server.url;
    const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
    await giulia.join(base, session.join_code, GIULIA);

    const consolePage = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
    await consolePage.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const console = consolePage.page;
    await console.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
    const heading = console.getByRole('heading', { name: it('console.currentPhase', { number: 1, title: PHASE_1 }) });
    await heading.waitFor({ timeout: 15_000 });

    // A reload keeps the console: the key is kept for the tab, not in the address.
    await console.reload();
    await heading.waitFor({ timeout: 15_000 });
    assert.equal(new URL(console.url()).hash, '');

    // The facilitator link is copied, never shown.
    await console.getByRole('button', { name: it('console.access.copyLink'), exact: true }).click();
    const copied = await console.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, `${base}/f/${session.session_id}#${session.facilitator_key}`);
    t.diagnostic('the console copies its link, and shows no key');

    // Joining closed: a newcomer is told so in Italian; reopened, they get in.
    await console.getByRole('button', { name: it('console.joining.close'), exact: true }).click();
    await console.getByText(it('console.joining.isClosed'), { exact: true }).waitFor({ timeout: 5_000 });
    const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13)');
    await marco.fillJoinForm(base, session.join_code, MARCO);
    await marco.page.getByRole('button', { name: it('join.submit'), exact: true }).click();
    await marco.page.getByText(it('join.error.joiningClosed'), { exact: true }).waitFor({ timeout: 5_000 });
    await console.getByRole('button', { name: it('console.joining.reopen'), exact: true }).click();
    await console.getByText(it('console.joining.isOpen'), { exact: true }).waitFor({ timeout: 5_000 });
    await marco.page.getByRole('button', { name: it('join.submit'), exact: true }).click();
    await marco.page.waitForURL((url) => url.pathname === `/b/${session.join_code}`, { timeout: 10_000 });
    await marco.waitForBoard();
    t.diagnostic('joining closed: the newcomer was told; reopened: they got in');

    // The projector on another computer, with the viewer link.
    const projectorUrl = await projectorLinkOf(console);
    const projector = await world.openScreen('projector (1280×720)', { width: 1280, height: 720 });
    await projector.page.goto(projectorUrl);
    await projector.page.getByText(session.join_code, { exact: true }).waitFor({ timeout: 15_000 });
    await projector.page.reload();
    await projector.page.getByText(session.join_code, { exact: true }).waitFor({ timeout: 15_000 });

    // Change the key, participants included.
    await console.getByRole('button', { name: it('console.access.rotate'), exact: true }).click();
    const dialog = console.getByRole('dialog', { name: it('console.rotate.heading') });
    await dialog.waitFor();
    await dialog.getByRole('checkbox', { name: it('console.rotate.participants'), exact: true }).check();
    await dialog.getByRole('button', { name: it('console.rotate.confirm'), exact: true }).click();
    await console.getByText(it('console.access.rotated'), { exact: true }).waitFor({ timeout: 10_000 });
    await dialog.waitFor({ state: 'hidden' });
    await consolePage.badge('connected').waitFor({ timeout: 10_000 });
    await heading.waitFor();

    // Every other screen is out: the projector says so, the phones must join again.
    await projector.page.getByText(it('projector.error.expired'), { exact: true }).waitFor({ timeout: 10_000 });
    for (const phone of [giulia, marco]) {
      await phone.page.getByRole('heading', { name: it('board.rejoinHeading') }).waitFor({ timeout: 10_000 });
    }
    t.diagnostic('key changed: the projector and both phones were disconnected, the console stayed');

    // The old facilitator link is dead; the new one (copied) works.
    await console.getByRole('button', { name: it('console.access.copyLink'), exact: true }).click();
    const fresh = await console.evaluate(() => navigator.clipboard.readText());
    assert.notEqual(fresh, copied, 'the copied link did not change with the key');
    const stale = await world.openScreen('old link (1440×900)', { width: 1440, height: 900 });
    await stale.page.goto(copied);
    await stale.page.getByText(it('facilitator.error.wrongKey'), { exact: true }).waitFor({ timeout: 10_000 });
    const other = await world.openScreen('new link (1440×900)', { width: 1440, height: 900 });
    await other.page.goto(fresh);
    await other.page.getByRole('heading', { name: it('console.currentPhase', { number: 1, title: PHASE_1 }) }).waitFor({ timeout: 15_000 });

    // And a new projector link, which works.
    const newProjectorUrl = await projectorLinkOf(console);
    assert.notEqual(newProjectorUrl, projectorUrl);
    await projector.page.goto(newProjectorUrl);
    await projector.page.getByText(session.join_code, { exact: true }).waitFor({ timeout: 15_000 });
    t.diagnostic('the old facilitator link is refused; the new one and the new projector link work');
  },
);

scenario('a phone whose clock is 7 s fast shows the same timer as the console', {}, async (world, t) => {
  const session = await world.server.createSession();
  const base = world.server.url;
  const phone = await world.openPhone('Pixel 7', 'Giulia (Pixel 7, clock +7 s)');
  // Phones' clocks are often off; the app must go by the server's.
  await phone.context.addInitScript(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + 7000;
  });
  await phone.join(base, session.join_code, GIULIA);
  assert.ok((await phone.page.evaluate(() => Date.now() - (performance.timeOrigin + performance.now()))) > 6000, 'the clock is not skewed');

  const consolePage = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
  await consolePage.page.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
  await consolePage.page.getByRole('button', { name: it('console.timer.presetLabel', { minutes: 5 }) }).click();
  const screens = [consolePage, phone];
  for (const s of screens) await s.page.getByRole('timer').waitFor({ timeout: 5_000 });
  for (let round = 0; round < 2; round++) {
    const current = (await readTimer(consolePage)).seconds;
    const target = `${Math.floor((current - 2) / 60)}:${String((current - 2) % 60).padStart(2, '0')}`;
    // Timestamps from the monotonic clock, which the skew does not touch.
    const flips = await Promise.all(
      screens.map((s) =>
        s.page.waitForFunction(
          (target) =>
            document.querySelector('[role=timer]')?.textContent === target ? performance.timeOrigin + performance.now() : false,
          target,
          { timeout: 5_000, polling: 'raf' },
        ),
      ),
    );
    const [a, b] = await Promise.all(flips.map((h) => h.jsonValue()));
    t.diagnostic(`timer turned to ${target} on the console and the skewed phone ${Math.round(Math.abs(a - b))} ms apart`);
    assert.ok(Math.abs(a - b) < 1000, `the skewed phone is ${Math.round(b - a)} ms off the console`);
  }
});
