// The record of the table (issue 17) in real browsers: the facilitator fills
// in the meeting's data and types the table's synthesis on the console, the
// projector shows it as it is written, a contribution written on a phone
// becomes a commitment in one gesture, and the resoconto carries all of it —
// the public version naming no person.
//
// Run: cd tests/e2e && npm test

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GIULIA, it, projectorLinkOf, scenario, SCREENSHOT_DIR, unique } from './harness.mjs';

const PHASE_1 = 'Legittimazione reciproca';
const PHASE_3 = 'Contributi';
const Q_PLEDGE = 'Cosa possiamo mettere concretamente sul tavolo per farlo partire?';
const Q_RAW = "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?";

async function openConsole(world, session) {
  const screen = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
  await screen.page.goto(`${world.server.url}/f/${session.session_id}#${session.facilitator_key}`);
  await screen.page.getByRole('heading', { name: /^Fase in corso/ }).waitFor({ timeout: 15_000 });
  return screen;
}

/** The report as the server sends it to the facilitator. */
async function report(world, session, { format = 'md', publicVersion = true } = {}) {
  const url = `${world.server.url}/api/sessions/${session.session_id}/report?format=${format}&public=${publicVersion}&lang=it`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${session.facilitator_key}` } });
  assert.equal(res.status, 200, `report ${format}: ${res.status} ${await res.clone().text()}`);
  return res.text();
}

/** Types into a live field of the record and leaves it (leaving saves at once). */
async function typeInto(page, label, text) {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(text);
  await field.blur();
}

scenario('the facilitator writes the record live: meeting data, a synthesis the projector shows, a commitment made from a contribution, all in the resoconto', { timeout: 180_000 }, async (world, t) => {
  const session = await world.server.createSession();
  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  await giulia.join(world.server.url, session.join_code, GIULIA);
  const consoleScreen = await openConsole(world, session);
  const cpage = consoleScreen.page;
  const projector = await world.openScreen('projector (1920×1080)', { width: 1920, height: 1080 });
  await projector.page.goto(await projectorLinkOf(cpage));
  await projector.page.getByRole('heading', { name: PHASE_1 }).waitFor({ timeout: 15_000 });

  // The meeting's data: the template filled what stays from one meeting to the next.
  assert.equal(await cpage.getByLabel(it('record.meeting.title'), { exact: true }).inputValue(), "Tavolo di Negoziazione dell'Opificio");
  assert.equal(await cpage.getByLabel(it('record.meeting.number'), { exact: true }).inputValue(), '1');
  await cpage.getByText(it('record.meeting.filled', { filled: 3, total: 8 })).waitFor({ timeout: 3_000 });
  const tag = unique();
  const place = `Sala del Consiglio comunale ${tag}`;
  const facilitator = `Anna Facilitatrice ${tag}`;
  await cpage.getByLabel(it('record.meeting.date'), { exact: true }).fill('2026-12-04');
  await cpage.getByLabel(it('record.meeting.start'), { exact: true }).fill('17:30');
  await typeInto(cpage, it('record.meeting.place'), place);
  await typeInto(cpage, it('record.meeting.responsible'), 'Comune di Santarcangelo di Romagna');
  await typeInto(cpage, it('record.meeting.facilitators'), facilitator);
  await cpage.getByText(it('record.meeting.filled', { filled: 7, total: 8 })).waitFor({ timeout: 3_000 });

  // The agenda: the template plans 25 minutes for phase 1; the facilitator makes it 20 and starts the timer from it.
  await cpage.getByRole('button', { name: it('console.timer.planned', { minutes: 25 }), exact: true }).waitFor({ timeout: 3_000 });
  const planned = cpage.getByRole('textbox', { name: it('console.plannedMinutesLabel', { number: 1, title: PHASE_1 }), exact: true });
  await planned.fill('700');
  await planned.press('Enter');
  await cpage.getByText(it('console.plannedInvalid')).waitFor({ timeout: 2_000 });
  await planned.fill('20');
  await planned.press('Enter');
  await cpage.getByRole('button', { name: it('console.timer.planned', { minutes: 20 }), exact: true }).click();
  await projector.page.locator('.phase-timer').getByText(/^(20:00|19:5\d)$/).waitFor({ timeout: 5_000 });
  t.diagnostic('agenda: phase 1 planned 25 → 20 minutes, the timer started from it on the projector');

  // The synthesis, typed while the room talks, reaches the projector without leaving the field.
  const synthesis = `Il tavolo riconosce il nucleo fondativo e chiede di allargarlo ${tag}`;
  const field = cpage.getByLabel(it('record.synthesis.synthesis'), { exact: true });
  await field.click();
  const typedAt = Date.now();
  await field.pressSequentially(synthesis.slice(0, 30));
  await field.fill(synthesis);
  await projector.page.locator('.room-synthesis').getByText(synthesis).waitFor({ timeout: 5_000 });
  t.diagnostic(`synthesis on the projector ${Date.now() - typedAt} ms after typing began, the field still focused`);
  await typeInto(cpage, it('record.synthesis.disagreements'), `Sui tempi dell’allargamento ${tag}`);
  await projector.page.locator('.room-synthesis').getByText(`Sui tempi dell’allargamento ${tag}`).waitFor({ timeout: 5_000 });

  // Phase 3: a contribution on a phone becomes a commitment in one gesture.
  await cpage.getByRole('button', { name: it('console.advance', { number: 2, title: 'Materia prima e dote sociale' }) }).click();
  await giulia.page.getByRole('heading', { level: 1, name: 'Materia prima e dote sociale' }).waitFor({ timeout: 5_000 });
  const resource = `La biblioteca Baldini e i suoi volontari ${tag}`;
  await giulia.addNote(Q_RAW, resource, { category: 'Spazi' });
  await cpage.getByRole('button', { name: it('console.advance', { number: 3, title: PHASE_3 }) }).click();
  await giulia.page.getByRole('heading', { level: 1, name: PHASE_3 }).waitFor({ timeout: 5_000 });
  const pledge = `Una sala al piano terra, due sere a settimana ${tag}`;
  // A contribution says when it can start and on what condition.
  const section = giulia.question(Q_PLEDGE);
  await section.getByLabel(it('composer.label'), { exact: true }).fill(pledge);
  await section.getByRole('radio', { name: 'Spazio', exact: true }).check();
  await section.getByRole('radio', { name: it('pledge.when.now'), exact: true }).check();
  await section.getByLabel(it('composer.condition'), { exact: true }).fill('se il Comune conferma gli orari');
  await section.getByRole('button', { name: it('composer.submit'), exact: true }).click();
  const terms = `${it('pledge.when.now')} · ${it('note.condition', { condition: 'se il Comune conferma gli orari' })}`;
  await section.locator('li.note-card', { hasText: pledge }).getByText(terms).waitFor({ timeout: 3_000 });
  await cpage.locator('.console-note', { hasText: pledge }).getByText(terms).waitFor({ timeout: 3_000 });
  await cpage.getByRole('button', { name: it('console.commitLabel', { text: pledge }) }).click();
  const what = cpage.getByLabel(it('record.commitments.what'), { exact: true });
  // The form fills in the frame after the click.
  await cpage.waitForFunction((text) => document.querySelector('#commitment-what')?.value === text, pledge, { timeout: 2_000 });
  assert.equal(await cpage.getByLabel(it('record.commitments.organization'), { exact: true }).inputValue(), GIULIA.organization);
  assert.equal(await what.evaluate((el) => el === document.activeElement), true, 'the form did not take the keyboard');
  // What the contribution said about timing and conditions is carried over.
  assert.equal(await cpage.getByLabel(it('record.commitments.by_when'), { exact: true }).inputValue(), it('pledge.when.now'));
  assert.equal(await cpage.getByLabel(it('record.commitments.condition'), { exact: true }).inputValue(), 'se il Comune conferma gli orari');
  await cpage.getByLabel(it('record.commitments.by_when'), { exact: true }).fill('entro gennaio');
  await cpage.getByLabel(it('record.commitments.contact_role'), { exact: true }).fill('Ufficio servizi sociali');
  await cpage.getByRole('button', { name: it('record.commitments.add'), exact: true }).click();
  await cpage.locator('.commitment', { hasText: pledge }).getByText(it('record.commitments.byWhenShown', { when: 'entro gennaio' }), { exact: false }).waitFor({ timeout: 3_000 });
  await projector.page.locator('.room-commitments').getByText(pledge).waitFor({ timeout: 5_000 });
  // An empty commitment is not recorded: the form says what is missing.
  await cpage.getByRole('button', { name: it('record.commitments.add'), exact: true }).click();
  await cpage.getByText(it('record.commitments.whatMissing')).waitFor({ timeout: 2_000 });
  assert.equal(await cpage.locator('.commitment').count(), 1);
  t.diagnostic('commitment made from the contribution, shown on the console and on the projector');

  await typeInto(cpage, it('record.closing.next_steps'), `Secondo incontro a febbraio ${tag}`);

  // The results given back to the room, one view at a time, from the console.
  const results = projector.page.locator('.room-results');
  const show = async (step) => {
    await cpage.getByRole('button', { name: it(`restitution.${step}`), exact: true }).click();
    await results.getByRole('heading', { name: it(`restitution.${step}`) }).waitFor({ timeout: 5_000 });
  };
  await show('map');
  await results.getByText(resource).waitFor({ timeout: 5_000 });
  await results.getByRole('heading', { name: /^Spazi/ }).waitFor();
  await projector.screenshot(join(SCREENSHOT_DIR, 'projector-results-map-1920.png'), false);
  await show('ledger');
  await results.getByRole('columnheader', { name: 'Spazio' }).waitFor({ timeout: 5_000 });
  await results.getByRole('cell', { name: '1', exact: true }).first().waitFor();
  await show('conclusions');
  await results.getByText(synthesis).waitFor({ timeout: 5_000 });
  await results.getByText(pledge).waitFor();
  await results.getByText(`Secondo incontro a febbraio ${tag}`).waitFor();
  await projector.screenshot(join(SCREENSHOT_DIR, 'projector-results-conclusions-1920.png'), false);
  // No person is named on the wall.
  assert.ok(!(await results.innerText()).includes(GIULIA.name), 'the results view names a participant');
  await cpage.getByRole('button', { name: it('restitution.board'), exact: true }).click();
  await projector.page.getByRole('heading', { name: Q_PLEDGE }).waitFor({ timeout: 5_000 });
  assert.equal(await results.count(), 0, 'the results stay on the wall after going back to the board');
  t.diagnostic('results stepped through on the projector: map, ledger, conclusions, back to the board');
  await projector.screenshot(join(SCREENSHOT_DIR, 'projector-record-1920.png'), false);
  await cpage.evaluate(() => document.querySelector('.record-commitments')?.scrollIntoView({ block: 'start' }));
  await cpage.screenshot({ path: join(SCREENSHOT_DIR, 'console-record.png'), animations: 'disabled', caret: 'hide' });

  // A second console (another facilitator's laptop) sees what was written.
  const second = await openConsole(world, session);
  assert.equal(await second.page.getByLabel(it('record.meeting.place'), { exact: true }).inputValue(), place);
  await second.page.locator('.commitment', { hasText: pledge }).waitFor({ timeout: 5_000 });

  // The resoconto carries it; the public version names no person.
  const full = await report(world, session, { publicVersion: false });
  const pub = await report(world, session, { publicVersion: true });
  for (const [name, text] of [['private', full], ['public', pub]]) {
    for (const needle of [place, synthesis, `Sui tempi dell’allargamento ${tag}`, pledge, 'entro gennaio', 'Ufficio servizi sociali', `Secondo incontro a febbraio ${tag}`]) {
      assert.ok(text.includes(needle), `the ${name} resoconto lacks «${needle}»`);
    }
  }
  assert.ok(full.includes(facilitator), 'the facilitator’s version does not say who facilitated');
  for (const name of [facilitator, GIULIA.name]) assert.ok(!pub.includes(name), `the public resoconto names ${name}`);
  t.diagnostic(`resoconto: private ${full.length} chars, public ${pub.length} chars`);
  // Downloaded from the console as the administration will: the ODT, public version.
  const panel = cpage.getByRole('region', { name: it('report.heading'), exact: true });
  await panel.getByRole('radio', { name: it('report.version.public'), exact: true }).check();
  const [file] = await Promise.all([
    cpage.waitForEvent('download', { timeout: 10_000 }),
    panel.getByRole('button', { name: it('report.odt'), exact: true }).click(),
  ]);
  assert.match(file.suggestedFilename(), /^tavolo-report-pubblico-[\w-]+\.odt$/);
  const odt = readFileSync(await file.path());
  // An OpenDocument package: a ZIP whose first entry is the stored mimetype.
  assert.equal(odt.subarray(0, 4).toString('hex'), '504b0304');
  assert.equal(odt.subarray(30, 38).toString(), 'mimetype');
  assert.ok(odt.includes(Buffer.from('application/vnd.oasis.opendocument.text')), 'not an ODT');
  assert.ok(odt.includes(Buffer.from(synthesis)) && !odt.includes(Buffer.from(GIULIA.name)), 'the ODT lacks the synthesis or names Giulia');
  t.diagnostic(`the console's ODT download: ${file.suggestedFilename()}, ${odt.length} bytes`);

  // The next meeting starts from this one: commitments to follow up, organizations invited.
  const tellsQuestion = `Chi coordina tra un incontro e l’altro? ${tag}`;
  await typeInto(cpage, it('record.closing.open_questions'), tellsQuestion);
  await cpage.getByRole('button', { name: it('record.next.start'), exact: true }).click();
  const nextLink = await cpage.locator('#next-facilitator-link').inputValue({ timeout: 5_000 });
  const nextCode = await cpage.locator('.record-next .join-code').innerText();
  assert.notEqual(nextCode, session.join_code);
  const next = await world.openScreen('console, next meeting (1440×900)', { width: 1440, height: 900 });
  await next.page.goto(nextLink);
  const previous = next.page.locator('.record-previous');
  await previous.getByText(pledge).waitFor({ timeout: 15_000 });
  await previous.getByText(tellsQuestion).waitFor();
  await previous.getByText(it('record.previous.invited', { joined: 0, total: 1 })).waitFor();
  await previous.locator('.invited-list').getByText(GIULIA.organization, { exact: true }).waitFor();
  assert.equal(await next.page.getByLabel(it('record.meeting.place'), { exact: true }).inputValue(), place, 'the place is not carried');
  // Giulia's organization comes to the second meeting: it shows as here.
  const giulia2 = await world.openPhone('Pixel 7', 'Giulia, second meeting');
  await giulia2.join(world.server.url, nextCode, GIULIA);
  await previous.getByText(it('record.previous.invited', { joined: 1, total: 1 })).waitFor({ timeout: 5_000 });
  // The commitment's progress, set on the second console, is in the second resoconto.
  await next.page.getByRole('combobox', { name: it('record.previous.statusLabel', { what: pledge }) }).selectOption('done');
  await typeInto(next.page, it('record.previous.progress'), `La sala è aperta dal 10 gennaio ${tag}`);
  const key2 = new URL(nextLink).hash.slice(1);
  const sid2 = new URL(nextLink).pathname.split('/').pop();
  const secondReport = await report(world, { session_id: sid2, facilitator_key: key2 }, { publicVersion: true });
  for (const needle of [pledge, `La sala è aperta dal 10 gennaio ${tag}`, 'Fatto', tellsQuestion]) {
    assert.ok(secondReport.toLowerCase().includes(needle.toLowerCase()), `the second resoconto lacks «${needle}»`);
  }
  assert.ok(!secondReport.includes(GIULIA.name), 'the second public resoconto names Giulia');
  await next.page.evaluate(() => document.querySelector('.record-previous')?.scrollIntoView({ block: 'start' }));
  await next.page.screenshot({ path: join(SCREENSHOT_DIR, 'console-previous-meeting.png'), animations: 'disabled', caret: 'hide' });
  t.diagnostic('next meeting: started from the console, commitment followed up, in the second resoconto');
});
