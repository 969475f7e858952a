// The session's outcome, taken from the app the way a facilitator and a
// participant take it: three phones write notes through five phases (some
// anonymous, one group, a few dots); the console's report panel downloads
// every format in both versions and the attendance annex; a phone downloads
// its own notes. Then the printable report is printed to an A4 PDF, its
// pages are rendered to PNG (docs/report/) and read back as text, to check
// that no table row is cut across two pages and that the charts speak
// Italian.
//
// Needs pdftoppm, pdftotext and pdfinfo (poppler-utils; scripts/setup.sh --test).
// Run: cd tests/e2e && node --test report.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chooseCategory, GIULIA, horizontalOverflow, it, MARCO, OUTPUT_DIR, REPO, scenario, SCREENSHOT_DIR, smallTouchTargets, unique } from './harness.mjs';

const REPORT_DIR = join(REPO, 'docs', 'report');
const PDF = join(REPORT_DIR, 'report-esempio.pdf');

/** A third person, from the third sector, who writes only anonymous notes. */
const TEODORA = {
  name: 'Teodora Casadei',
  organization: 'Associazione Pro Loco Borgo Antico',
  sector: 'community',
  tier: 'strategic_extension',
  attendance: 'in_room',
};
/**
 * A fourth, who writes nothing but agrees, when joining, that the resoconto
 * may list her organization among those present: the only one listed.
 */
const ROSA = {
  name: 'Rosa Pazzaglia',
  organization: 'Banda Musicale Città di Santarcangelo',
  sector: 'social_private',
  tier: 'founding_core',
  attendance: 'remote',
  listOrganization: true,
};
const PEOPLE = [GIULIA, MARCO, TEODORA, ROSA];
/** The organizations a report's "Organizzazioni presenti" lists. */
const listedIn = (data) => data.attendance.organizations.flatMap((g) => g.organizations);

// The built-in template (model/templates/tavolo-prima-sessione.toml).
const PHASES = ['Legittimazione reciproca', 'Materia prima e dote sociale', 'Contributi', 'Bisogni', 'Aspettative reciproche'];
const Q1 = "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?";
const Q_RAW =
  "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?";
const Q_PLEDGE = 'Cosa possiamo mettere concretamente sul tavolo per farlo partire?';
const Q_NEED = 'Cosa serve al nostro territorio per produrre benessere insieme?';
const Q_EXPECT = 'Quali sono le nostre aspettative reciproche in questa alleanza?';

// ---- the report's own catalogue ------------------------------------------------

/** `section.key` → text, from model/i18n/report.<lang>.toml (flat string values only). */
function reportCatalogue(lang) {
  const source = readFileSync(join(REPO, 'model', 'i18n', `report.${lang}.toml`), 'utf8');
  const entries = new Map();
  let section = '';
  for (const line of source.split('\n')) {
    const header = /^\[([\w.]+)\]\s*$/.exec(line);
    if (header) section = header[1];
    const entry = /^([\w]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(line);
    if (entry) entries.set(`${section}.${entry[1]}`, entry[2].replace(/\\(.)/g, '$1'));
  }
  return entries;
}

// ---- the screens -----------------------------------------------------------------

/** Writes a note with a category and/or as anonymous, and waits until it is on the phone's board. */
async function write(phone, question, text, { category = null, anonymous = false } = {}) {
  const section = phone.question(question);
  await section.getByLabel(it('composer.label'), { exact: true }).fill(text);
  await chooseCategory(section, category);
  if (anonymous) await section.getByRole('checkbox', { name: it('composer.anonymous'), exact: true }).check();
  await section.getByRole('button', { name: it('composer.submit'), exact: true }).click();
  await section.locator('li.note-card', { hasText: text }).first().waitFor({ timeout: 5_000 });
}

async function newGroup(phone, text, title) {
  const card = phone.page.locator('li.note-card', { hasText: text });
  await card.getByRole('button', { name: it('note.handleLabel', { text: text.slice(0, 60) }) }).click();
  await phone.page.getByRole('menuitem', { name: it('move.newCluster'), exact: true }).click();
  await card.getByLabel(it('move.newClusterLabel')).fill(title);
  await card.getByRole('button', { name: it('move.create') }).click();
  await phone.page.getByRole('region', { name: it('cluster.heading', { title }), exact: true }).waitFor({ timeout: 2_000 });
}

async function moveTo(phone, text, title) {
  const card = phone.page.locator('li.note-card', { hasText: text });
  await card.getByRole('button', { name: it('note.handleLabel', { text: text.slice(0, 60) }) }).click();
  await phone.page.getByRole('menuitem', { name: it('move.toCluster', { title }), exact: true }).click();
  await phone.page
    .getByRole('region', { name: it('cluster.heading', { title }), exact: true })
    .locator('li.note-card', { hasText: text })
    .waitFor({ timeout: 2_000 });
}

/** The facilitator moves everyone to phase `number` (1-based); each phone shows it. */
async function advanceTo(consolePage, phones, number) {
  await consolePage.getByRole('button', { name: it('console.advance', { number, title: PHASES[number - 1] }) }).click();
  for (const phone of phones) {
    await phone.page.getByRole('heading', { level: 1, name: PHASES[number - 1] }).waitFor({ timeout: 5_000 });
  }
}

async function openVoting(consolePage, phones, question) {
  await consolePage.getByRole('button', { name: it('console.voting.openLabel', { text: question }) }).click();
  for (const phone of phones) await phone.page.getByText(it('vote.remaining', { remaining: 3, budget: 3 })).first().waitFor({ timeout: 3_000 });
}

const dot = (phone, title) => phone.page.getByRole('button', { name: it('vote.add', { title }) }).click();

// ---- the report panel ---------------------------------------------------------------

const panelOf = (page) => page.getByRole('region', { name: it('report.heading'), exact: true });

/** Clicks a download button of the panel; returns the suggested name and the bytes. */
async function download(page, label) {
  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: 10_000 }),
    panelOf(page).getByRole('button', { name: label, exact: true }).click(),
  ]);
  const name = file.suggestedFilename();
  const path = join(OUTPUT_DIR, `download-${unique()}-${name}`);
  await file.saveAs(path);
  const bytes = readFileSync(path);
  rmSync(path, { force: true });
  return { name, bytes, text: bytes.toString('utf8') };
}

/** Clicks an "open printable" button; returns the new tab once the report is in it. */
async function openPrintable(page, label) {
  const [tab] = await Promise.all([
    page.context().waitForEvent('page', { timeout: 10_000 }),
    panelOf(page).getByRole('button', { name: label, exact: true }).click(),
  ]);
  await tab.waitForURL(/^blob:/, { timeout: 10_000 });
  await tab.waitForLoadState('load');
  await panelOf(page).getByText(it('report.opened'), { exact: true }).waitFor({ timeout: 5_000 });
  return tab;
}

/** Every format of the report in the version the panel is set to. */
async function allFormats(page) {
  const tab = await openPrintable(page, it('report.open'));
  const html = { name: 'html', text: await tab.content(), tab };
  const md = await download(page, it('report.markdown'));
  const csv = await download(page, it('report.csv'));
  const json = await download(page, it('report.json'));
  return { html, md, csv, json, data: JSON.parse(json.text) };
}

const BOM = [0xef, 0xbb, 0xbf];
const startsWithBom = (bytes) => BOM.every((b, i) => bytes[i] === b);

// ---- the printed pages -----------------------------------------------------------------

/** Whitespace, soft hyphens and hyphens out; ligatures and the like folded. */
const squash = (s) => s.normalize('NFKC').replace(/[\s\u00ad\-\u2010\u2011]/gu, '');

/**
 * Finds each table row of the report in the PDF's text and says which pages
 * it is on. `pdftotext -layout` puts the lines of a row's cells side by
 * side, so while a row is on one page its characters are a contiguous run of
 * the page's text (in some order): rows are looked for that way first, in
 * document order. Tables printed side by side share lines, so a row not
 * found as a run is looked for as the fewest consecutive lines holding all
 * its characters. A row cut by a page break shows up as a run or a set of
 * lines on two pages; null means it was not found at all.
 */
function locateRows(rows, pages) {
  const stream = [];
  const pageOf = [];
  const lines = [];
  pages.forEach((text, i) => {
    for (const ch of squash(text)) {
      stream.push(ch);
      pageOf.push(i + 1);
    }
    for (const line of text.split('\n')) lines.push({ page: i + 1, chars: counts([...squash(line)]) });
  });
  let cursor = 0;
  return rows.map((row) => {
    const target = [...squash(row)];
    if (target.length === 0) return { row, pages: [], how: 'empty' };
    // Whole on one page first: a chart's legend can hold a header row's
    // words just before the table, and a window reaching back into it would
    // look like a row cut across the page break. Only a row found nowhere
    // whole is looked for across pages.
    const run = findRun(stream, cursor, target, pageOf) ?? findRun(stream, cursor, target);
    if (run) {
      cursor = run.end;
      return { row, pages: [...new Set(pageOf.slice(run.start, run.end))], how: 'run' };
    }
    const window = findLines(lines, counts(target));
    return window ? { row, pages: window, how: 'lines' } : { row, pages: null, how: 'none' };
  });
}

function counts(chars) {
  const m = new Map();
  for (const ch of chars) m.set(ch, (m.get(ch) ?? 0) + 1);
  return m;
}

/**
 * The first window of `stream` from `from` whose characters are exactly
 * `target`'s, in any order; with `pageOf`, only windows within one page.
 */
function findRun(stream, from, target, pageOf = null) {
  const k = target.length;
  const want = counts(target);
  const have = new Map();
  let mismatched = want.size; // characters whose count in the window differs from the row's
  const bump = (ch, d) => {
    const before = (have.get(ch) ?? 0) === (want.get(ch) ?? 0);
    have.set(ch, (have.get(ch) ?? 0) + d);
    const after = have.get(ch) === (want.get(ch) ?? 0);
    if (before && !after) mismatched++;
    if (!before && after) mismatched--;
  };
  for (let i = from; i < stream.length; i++) {
    bump(stream[i], 1);
    if (i - from >= k) bump(stream[i - k], -1);
    if (i - from >= k - 1 && mismatched === 0 && (!pageOf || pageOf[i - k + 1] === pageOf[i])) return { start: i - k + 1, end: i + 1 };
  }
  return null;
}

/** The pages of the fewest consecutive lines (the first such) holding every character of `want`. */
function findLines(lines, want) {
  let best = null;
  for (let s = 0; s < lines.length; s++) {
    const have = new Map();
    let missing = [...want.values()].reduce((a, b) => a + b, 0);
    for (let e = s; e < lines.length && (!best || e - s < best.e - best.s); e++) {
      for (const [ch, n] of lines[e].chars) {
        const need = want.get(ch) ?? 0;
        const had = have.get(ch) ?? 0;
        if (had < need) missing -= Math.min(n, need - had);
        have.set(ch, had + n);
      }
      if (missing === 0) {
        best = { s, e };
        break;
      }
    }
  }
  return best ? [...new Set(lines.slice(best.s, best.e + 1).map((l) => l.page))] : null;
}

const pdftotext = (page) => execFileSync('pdftotext', ['-layout', '-f', String(page), '-l', String(page), PDF, '-'], { encoding: 'utf8' });

// ---- the test --------------------------------------------------------------------------------

scenario(
  'the facilitator takes the report in every format, the public version names nobody, a phone takes its notes, and the report prints on A4 without cut rows',
  { timeout: 420_000 },
  async (world, t) => {
    const session = await world.server.createSession();
    const base = world.server.url;
    // Each run has its own server: the notes need no suffix to be told
    // apart, and the printed example (docs/report/) reads like a real one.
    const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
    const marco = await world.openPhone('Pixel 7', 'Marco (Pixel 7)');
    const teodora = await world.openPhone('iPhone 13', 'Teodora (iPhone 13)');
    const phones = [giulia, marco, teodora];
    await giulia.join(base, session.join_code, GIULIA);
    await marco.join(base, session.join_code, MARCO);
    await teodora.join(base, session.join_code, TEODORA);
    // Rosa only joins (checking the consent on the form), then puts her phone away.
    const rosa = await world.openPhone('Pixel 7', 'Rosa (Pixel 7)');
    await rosa.join(base, session.join_code, ROSA);
    await rosa.page.close();

    const consoleScreen = await world.openScreen('console (1440×900)', { width: 1440, height: 900 }, { acceptDownloads: true });
    const cpage = consoleScreen.page;
    await cpage.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
    await cpage.getByRole('heading', { name: it('console.currentPhase', { number: 1, title: PHASES[0] }) }).waitFor({ timeout: 15_000 });

    // The panel is there from the first minute, before anything is written.
    const early = await download(cpage, it('report.markdown'));
    assert.match(early.name, /^tavolo-report-[\w-]+\.md$/);
    assert.ok(early.bytes.length > 0, 'the report of an empty session is empty');

    // ---- five phases of notes ------------------------------------------------------
    const accented = `Il caffè sospeso: più città per chi è solo`;
    const notes = {
      giulia: [
        `La biblioteca comunale apre le sue sale`,
        accented,
        `La sala consiliare il sabato mattina`,
        `Un trasporto per gli anziani delle frazioni`,
        `Dal Comune ci aspettiamo tempi certi`,
      ],
      giuliaAnonymous: `Abbiamo paura di non essere all'altezza`,
      marco: [
        `La cooperativa conosce le famiglie fragili`,
        `Educatori e operatori esperti di comunità`,
        `Due volontari per tre pomeriggi a settimana`,
        `Nessuno ascolta i giovani caregiver`,
        `Al terzo settore chiediamo di coprogettare davvero`,
      ],
      teodora: [
        `La Pro Loco tiene insieme le feste del borgo`,
        `La sagra e il dialetto romagnolo`,
        `Tavoli, gazebo e un furgone`,
        `Mancano luoghi dove i vicini si parlano`,
      ],
    };

    // Phase 1: why us.
    await write(giulia, Q1, notes.giulia[0]);
    await write(giulia, Q1, notes.giuliaAnonymous, { anonymous: true });
    await write(marco, Q1, notes.marco[0]);
    await write(teodora, Q1, notes.teodora[0], { anonymous: true });

    // Phase 2: the raw material, with categories, a group and dots; long enough to fill pages.
    await advanceTo(cpage, phones, 2);
    await write(giulia, Q_RAW, accented, { category: 'Spazi' });
    await write(marco, Q_RAW, notes.marco[1], { category: 'Competenze' });
    await write(teodora, Q_RAW, notes.teodora[1], { category: 'Tradizioni', anonymous: true });
    const filler = [
      'Il mercato contadino del venerdì, dove si incontrano produttori e famiglie',
      'Le associazioni sportive che accolgono ragazzi da tutte le frazioni',
      'Il teatro parrocchiale e la sua compagnia amatoriale, attiva da quarant’anni',
      'La rete informale di vicinato che porta la spesa a chi non esce di casa',
      'Le competenze artigiane della ceramica e della stampa a ruggine su tela, che rischiano di perdersi se nessuno le insegna ai più giovani nelle botteghe del centro storico',
      'Gli orti condivisi dietro la scuola media',
      'Un archivio fotografico delle famiglie del paese, raccolto dalla biblioteca',
      'La banda musicale cittadina',
    ];
    const categories = ['Competenze', 'Spazi', 'Tradizioni', 'Relazioni', 'Competenze', 'Spazi', 'Tradizioni', 'Tradizioni'];
    for (const [i, text] of filler.entries()) {
      const phone = i % 2 === 0 ? giulia : marco;
      await write(phone, Q_RAW, text, { category: categories[i] });
    }
    await newGroup(marco, notes.marco[1], 'Saperi del territorio');
    await moveTo(marco, filler[0], 'Saperi del territorio');
    await openVoting(cpage, phones, Q_RAW);
    await dot(giulia, 'Saperi del territorio');
    await dot(giulia, accented);
    await dot(marco, accented);
    await dot(teodora, 'Saperi del territorio');

    // Phase 3: pledges by resource type.
    await advanceTo(cpage, phones, 3);
    await write(giulia, Q_PLEDGE, notes.giulia[2], { category: 'Spazio' });
    await write(marco, Q_PLEDGE, notes.marco[2], { category: 'Tempo / volontari' });
    await write(teodora, Q_PLEDGE, notes.teodora[2], { category: 'Attrezzature', anonymous: true });
    await write(marco, Q_PLEDGE, `Una stanza per i colloqui, due giorni a settimana`, { category: 'Spazio' });

    // Phase 4: needs, voted.
    await advanceTo(cpage, phones, 4);
    await write(giulia, Q_NEED, notes.giulia[3], { category: 'Bisogno non intercettato' });
    await write(marco, Q_NEED, notes.marco[3], { category: 'Fragilità' });
    await write(teodora, Q_NEED, notes.teodora[3], { category: 'Relazione che manca', anonymous: true });
    await openVoting(cpage, phones, Q_NEED);
    await dot(giulia, notes.marco[3]);
    await dot(marco, notes.marco[3]);
    await dot(teodora, notes.teodora[3]);
    await dot(teodora, notes.giulia[3]);

    // Phase 5: expectations, addressed from one sector to another.
    await advanceTo(cpage, phones, 5);
    await write(giulia, Q_EXPECT, notes.giulia[4], { category: 'Verso il privato sociale' });
    await write(marco, Q_EXPECT, notes.marco[4], { category: 'Verso il pubblico' });
    t.diagnostic('five phases written: 24 notes (5 anonymous), one group of two, dots on two questions');

    // ---- the console's report panel -----------------------------------------------------
    const panel = panelOf(cpage);
    await panel.scrollIntoViewIfNeeded();
    const flag = panel.getByRole('checkbox', { name: it('report.organizationsPublic'), exact: true });
    assert.equal(await flag.isChecked(), false, 'organizations are public from the start');
    await panel.getByRole('radio', { name: it('report.version.full'), exact: true }).waitFor();
    // The whole page laid out (the sticky top bar stays at its top), cut to the panel and its column.
    await cpage.evaluate(() => window.scrollTo(0, 0));
    const box = await panel.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height };
    });
    await cpage.screenshot({
      path: join(SCREENSHOT_DIR, 'console-report.png'),
      fullPage: true,
      clip: { x: box.x - 16, y: box.y - 16, width: box.width + 32, height: box.height + 32 },
      animations: 'disabled',
      caret: 'hide',
    });

    // The confidential version: everything, names included.
    const full = await allFormats(cpage);
    assert.match(full.md.name, /^tavolo-report-[\w-]+\.md$/);
    assert.match(full.csv.name, /^tavolo-report-[\w-]+\.csv$/);
    assert.match(full.json.name, /^tavolo-report-[\w-]+\.json$/);
    for (const f of [full.md, full.csv, full.json]) assert.ok(f.bytes.length > 200, `${f.name} is nearly empty (${f.bytes.length} bytes)`);
    assert.ok(startsWithBom(full.csv.bytes), `the CSV does not start with a UTF-8 BOM: ${full.csv.bytes.subarray(0, 3).toString('hex')}`);
    for (const f of [full.html, full.md, full.csv, full.json]) {
      assert.ok(f.text.includes(accented) || f.text.includes(escapeHtml(accented)), `${f.name}: the accented note is not there intact`);
    }
    assert.equal(full.data.public, false);
    assert.ok(full.md.text.includes(GIULIA.name), 'the confidential version does not name the authors');
    assert.match(full.md.name, /^tavolo-report-riservato-/, 'the confidential file says so in its name');
    // The composer's promise holds even in the facilitator's version:
    // Teodora wrote only anonymously, and nothing says it was her.
    for (const f of [full.html, full.md, full.csv, full.json]) {
      for (const w of [TEODORA.name, ...TEODORA.name.split(' '), TEODORA.organization]) {
        assert.ok(!f.text.includes(w) && !f.text.includes(escapeHtml(w)), `${f.name} names the writer of anonymous notes: ${w}`);
      }
    }
    // Organizations present: only Rosa agreed to be listed.
    assert.deepEqual(listedIn(full.data), [ROSA.organization], 'the confidential version lists organizations without consent');
    assert.equal(full.data.attendance.unlisted, 3);
    assert.ok(full.md.text.includes('### Organizzazioni presenti'), 'the resoconto has no "Organizzazioni presenti"');
    t.diagnostic(`confidential: ${full.md.name} ${full.md.bytes.length} B, ${full.csv.name} ${full.csv.bytes.length} B, ${full.json.name} ${full.json.bytes.length} B, html ${full.html.text.length} chars`);

    // A browser that blocks the new tab gets the printable report as a download instead.
    await cpage.evaluate(() => {
      window.__open = window.open;
      window.open = () => null;
    });
    const blocked = await download(cpage, it('report.open'));
    assert.match(blocked.name, /^tavolo-report-[\w-]+\.html$/);
    assert.ok(blocked.text.includes(accented), 'the downloaded printable report lacks the notes');
    await panel.getByText(it('report.popupBlocked', { filename: blocked.name }), { exact: true }).waitFor();
    await cpage.evaluate(() => (window.open = window.__open));

    // A server that fails is said so in the panel, in Italian.
    await cpage.route('**/api/sessions/*/report?*', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"storage is unavailable, try again"}' }),
    );
    await panel.getByRole('button', { name: it('report.csv'), exact: true }).click();
    await panel.getByRole('alert').getByText(it('report.error.unavailable'), { exact: true }).waitFor({ timeout: 5_000 });
    await cpage.unroute('**/api/sessions/*/report?*');
    t.diagnostic('popup blocked: the printable report downloads instead; a 503 is explained in the panel');

    // The attendance annex: names and organizations, for the facilitator only.
    const annexCsv = await download(cpage, it('report.attendance.csv'));
    assert.match(annexCsv.name, /^tavolo-presenze-[\w-]+\.csv$/);
    assert.ok(startsWithBom(annexCsv.bytes), 'the annex CSV has no BOM');
    const annexTab = await openPrintable(cpage, it('report.attendance.open'));
    const annexHtml = await annexTab.content();
    for (const person of PEOPLE) {
      assert.ok(annexCsv.text.includes(person.name) && annexCsv.text.includes(person.organization), `the annex CSV lacks ${person.name}`);
      assert.ok(annexHtml.includes(person.name), `the annex HTML lacks ${person.name}`);
    }
    await annexTab.close();

    // The public version, organizations off: no name, no organization, anywhere.
    await panel.getByRole('radio', { name: it('report.version.public'), exact: true }).check();
    const pub = await allFormats(cpage);
    assert.match(pub.md.name, /^tavolo-report-pubblico-[\w-]+\.md$/);
    assert.match(pub.csv.name, /^tavolo-report-pubblico-[\w-]+\.csv$/);
    assert.match(pub.json.name, /^tavolo-report-pubblico-[\w-]+\.json$/);
    assert.ok(startsWithBom(pub.csv.bytes), 'the public CSV has no BOM');
    assert.equal(pub.data.public, true);
    assert.equal(pub.data.organizations_shown, false);
    const leaks = (formats, words) =>
      Object.entries(formats)
        .filter(([k]) => ['html', 'md', 'csv', 'json'].includes(k))
        .flatMap(([k, f]) => words.filter((w) => f.text.includes(w) || f.text.includes(escapeHtml(w))).map((w) => `${k}: "${w}"`));
    const names = PEOPLE.flatMap((p) => [p.name, ...p.name.split(' ')]);
    const organizations = PEOPLE.filter((p) => !p.listOrganization)
      .map((p) => p.organization)
      .concat(['Millepiedi', 'Pro Loco Borgo']);
    assert.deepEqual(leaks(pub, names), [], 'the public version names people');
    assert.deepEqual(leaks(pub, organizations), [], 'the public version names organizations while the flag is off');
    assert.ok(pub.md.text.includes(accented), 'the public version lost the notes');
    // Rosa's organization, by her consent, among those present — and only there.
    assert.deepEqual(listedIn(pub.data), [ROSA.organization]);
    for (const key of ['html', 'md']) {
      const f = pub[key];
      const count = f.text.split(key === 'html' ? escapeHtml(ROSA.organization) : ROSA.organization).length - 1;
      assert.equal(count, 1, `${key}: Rosa's organization appears ${count} times`);
    }
    assert.ok(!pub.csv.text.includes(ROSA.organization), 'the CSV of notes names an organization that wrote nothing');
    // One person per sector: in the public version no sector may stand
    // for its one member, in any table (they all become "altri").
    const sectorsShown = new Set();
    const walk = (v) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v && typeof v === 'object') {
        if (v.author?.sector?.label) sectorsShown.add(v.author.sector.label);
        if (v.sector?.label && 'cells' in v) sectorsShown.add(v.sector.label);
        if (v.from?.label) sectorsShown.add(v.from.label);
        Object.values(v).forEach(walk);
      }
    };
    walk(pub.data);
    for (const c of pub.data.attendance.by_sector) {
      assert.ok(c.count === 0 || c.count >= 3, `a public attendance cell of ${c.count}: ${c.label}`);
    }
    assert.deepEqual([...sectorsShown].filter((l) => !['altri', 'anonimo'].includes(l)), [], 'a sector of one person is shown');
    await pub.html.tab.close();
    t.diagnostic(`public, organizations off: no names, no organizations in html, md, csv, json; sectors shown: ${[...sectorsShown].join(', ')}`);

    // Organizations on: those of non-anonymous authors appear; Teodora wrote only anonymously.
    await flag.check();
    let pubOrgs = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      pubOrgs = await allFormats(cpage);
      if (pubOrgs.data.organizations_shown) break;
      await pubOrgs.html.tab.close();
      // The flag travels over the sync socket; the report is read over HTTP.
      await cpage.waitForTimeout(300);
    }
    assert.equal(pubOrgs.data.organizations_shown, true, 'the flag did not reach the report');
    for (const key of ['html', 'md', 'csv', 'json']) {
      for (const person of [GIULIA, MARCO]) {
        const f = pubOrgs[key];
        assert.ok(f.text.includes(person.organization) || f.text.includes(escapeHtml(person.organization)), `${key}: ${person.organization} is missing with the flag on`);
      }
    }
    assert.deepEqual(leaks(pubOrgs, names), [], 'the public version names people (flag on)');
    assert.deepEqual(leaks(pubOrgs, [TEODORA.organization, 'Pro Loco Borgo']), [], 'an anonymous author’s organization is in the public version');
    await pubOrgs.html.tab.close();
    await flag.uncheck();
    t.diagnostic('public, organizations on: Giulia’s and Marco’s organizations shown, Teodora’s (anonymous only) not, no names');

    // ---- a phone takes its own notes -------------------------------------------------------
    const mine = giulia.page.locator('details.my-notes');
    await mine.scrollIntoViewIfNeeded();
    await mine.getByText(it('myNotes.summary'), { exact: true }).click();
    const takeMine = async (label) => {
      const [file] = await Promise.all([
        giulia.page.waitForEvent('download', { timeout: 10_000 }),
        mine.getByRole('button', { name: label, exact: true }).click(),
      ]);
      const path = join(OUTPUT_DIR, `mine-${unique()}-${file.suggestedFilename()}`);
      await file.saveAs(path);
      const bytes = readFileSync(path);
      rmSync(path, { force: true });
      return { name: file.suggestedFilename(), bytes, text: bytes.toString('utf8') };
    };
    const myMd = await takeMine(it('myNotes.markdown'));
    const myCsv = await takeMine(it('myNotes.csv'));
    assert.match(myMd.name, /^tavolo-le-mie-note-[\w-]+\.md$/);
    assert.match(myCsv.name, /^tavolo-le-mie-note-[\w-]+\.csv$/);
    assert.ok(startsWithBom(myCsv.bytes), 'my notes CSV has no BOM');
    for (const text of [...notes.giulia, notes.giuliaAnonymous]) {
      assert.ok(myMd.text.includes(text), `Giulia's Markdown lacks "${text}"`);
      assert.ok(myCsv.text.includes(text), `Giulia's CSV lacks "${text}"`);
    }
    for (const text of [...notes.marco, ...notes.teodora]) assert.ok(!myMd.text.includes(text), `Giulia's notes include "${text}"`);
    await mine.getByText(it('report.downloaded', { filename: myCsv.name })).waitFor();
    const small = (await smallTouchTargets(giulia.page)).filter((s) => /my-notes|Scarica|Markdown|CSV/.test(s));
    assert.deepEqual(small, [], 'the download controls are too small to tap');
    const overflow = await horizontalOverflow(giulia.page, 412);
    assert.ok(overflow.ok, `the board scrolls sideways on a Pixel 7: ${overflow.culprits.join(', ')}`);
    await mine.evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await giulia.page.screenshot({ path: join(SCREENSHOT_DIR, 'phone-my-notes.png'), animations: 'disabled', caret: 'hide' });
    t.diagnostic(`phone: ${myMd.name} ${myMd.bytes.length} B, ${myCsv.name} ${myCsv.bytes.length} B, only Giulia's notes`);

    // ---- print -------------------------------------------------------------------------------
    await panel.getByRole('radio', { name: it('report.version.full'), exact: true }).check();
    const printable = full.html.tab;
    await printable.emulateMedia({ media: 'print' });
    const rows = await printable.evaluate(() =>
      [...document.querySelectorAll('tr')]
        .filter((tr) => tr.checkVisibility())
        .map((tr) => [...tr.cells].map((c) => c.innerText).join(' ')),
    );
    mkdirSync(REPORT_DIR, { recursive: true });
    for (const f of readdirSync(REPORT_DIR)) if (/^pagina-\d+\.png$/.test(f)) rmSync(join(REPORT_DIR, f));
    await printable.pdf({ path: PDF, format: 'A4', printBackground: true });
    const pageCount = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [PDF], { encoding: 'utf8' }))[1]);
    execFileSync('pdftoppm', ['-r', '60', '-png', PDF, join(REPORT_DIR, 'pagina')]);
    // pdftoppm pads the number to the width of the page count (pagina-01 …): plain numbers.
    for (const f of readdirSync(REPORT_DIR)) {
      const m = /^pagina-0*(\d+)\.png$/.exec(f);
      if (m && f !== `pagina-${m[1]}.png`) renameSync(join(REPORT_DIR, f), join(REPORT_DIR, `pagina-${m[1]}.png`));
    }
    const pages = Array.from({ length: pageCount }, (_, i) => pdftotext(i + 1));
    t.diagnostic(`printed: ${pageCount} A4 pages, ${rows.length} table rows`);

    const located = locateRows(rows, pages);
    const cut = located.filter((r) => r.pages && r.pages.length > 1).map((r) => `pages ${r.pages.join('–')}: ${r.row.slice(0, 90)}`);
    const missing = located.filter((r) => r.pages === null).map((r) => r.row.slice(0, 90));
    for (const r of located) if (r.how === 'lines') t.diagnostic(`row found across lines shared with another table: ${r.row.slice(0, 80)} (page ${r.pages.join('–')})`);
    for (const r of located) if (r.pages === null) t.diagnostic(`row not found on any page: ${r.row.slice(0, 120)}`);
    assert.deepEqual(cut, [], 'table rows start on one page and end on the next');
    assert.deepEqual(missing, [], 'table rows of the page are not in the printed text');

    // The charts speak Italian, not English.
    const all = pages.join('\n');
    const itCat = reportCatalogue('it');
    const enCat = reportCatalogue('en');
    for (const key of ['chart.ledger_title', 'chart.needs_title']) {
      assert.ok(squash(all).includes(squash(itCat.get(key))), `the printed report lacks the chart title "${itCat.get(key)}"`);
      assert.ok(!squash(all).includes(squash(enCat.get(key))), `the printed report has the English "${enCat.get(key)}"`);
    }
    for (const label of ['Spazio', 'Tempo / volontari', 'Attrezzature']) {
      assert.ok(squash(all).includes(squash(label)), `the ledger chart's legend lacks "${label}"`);
    }
    t.diagnostic(`pages: ${REPORT_DIR}/pagina-1..${pageCount}.png; charts titled in Italian`);
  },
);

function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
