// Accessibility, checked by axe-core (WCAG 2.1 A and AA rules) on every
// page a session uses, in the state a person sees it: the start page, the
// join form, a phone's board with notes and a group, the facilitator's
// console with its report panel, and the projector. Any serious or
// critical violation fails; the rest are listed as diagnostics.
//
// Run: cd tests/e2e && node --test a11y.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GIULIA, it, MARCO, projectorLinkOf, scenario, unique } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const Q1 = "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?";

/**
 * Runs axe-core in the page (through the debugger, which the page's CSP
 * does not stop) and returns its violations.
 */
async function axe(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      // WCAG 2.5.3 (label in name) is an experimental rule in axe, off unless asked for.
      rules: { 'label-content-name-mismatch': { enabled: true } },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
    }));
  });
}

/** Fails on serious and critical violations; lists every violation found. */
async function assertAccessible(page, where, t) {
  const violations = await axe(page);
  for (const v of violations) {
    t.diagnostic(`${where}: ${v.impact} ${v.id} (${v.help}) × ${v.nodes.length}: ${v.nodes[0]}`);
  }
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    grave.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`),
    [],
    `${where}: axe-core found serious or critical violations`,
  );
  t.diagnostic(`${where}: no serious or critical violation (${violations.length} lesser)`);
}

scenario('axe-core finds no serious or critical violation on any page of a session', { timeout: 180_000 }, async (world, t) => {
  const session = await world.server.createSession();
  const base = world.server.url;

  const start = await world.openScreen('start page (1280×800)', { width: 1280, height: 800 });
  await start.page.goto(base);
  await start.page.getByRole('heading', { level: 1 }).first().waitFor();
  await assertAccessible(start.page, 'start page', t);

  const giulia = await world.openPhone('Pixel 7', 'Giulia (Pixel 7)');
  await giulia.fillJoinForm(base, session.join_code, GIULIA);
  await assertAccessible(giulia.page, 'join form', t);
  await giulia.page.getByRole('button', { name: it('join.submit'), exact: true }).click();
  await giulia.waitForBoard();
  const marco = await world.openPhone('iPhone 13', 'Marco (iPhone 13)');
  await marco.join(base, session.join_code, MARCO);

  // A board with something on it: notes of both, one anonymous, and a group.
  const mine = `La banda del paese ${unique()}`;
  await giulia.addNote(Q1, mine);
  await giulia.addNote(Q1, `Le feste di quartiere ${unique()}`, { anonymous: true });
  await marco.addNote(Q1, `Il doposcuola della parrocchia ${unique()}`);
  await marco.note(Q1, mine).waitFor({ timeout: 5_000 });
  await assertAccessible(giulia.page, 'board (participant, Pixel 7)', t);
  await assertAccessible(marco.page, 'board (participant, iPhone 13)', t);

  const consoleScreen = await world.openScreen('console (1440×900)', { width: 1440, height: 900 });
  const console = consoleScreen.page;
  await console.goto(`${base}/f/${session.session_id}#${session.facilitator_key}`);
  await console.getByRole('heading', { name: it('report.heading') }).waitFor({ timeout: 15_000 });
  await console.getByText(mine).first().waitFor({ timeout: 10_000 });
  await assertAccessible(console, 'console with the report panel', t);
  const projectorUrl = await projectorLinkOf(console);
  // The same pages in English (other words, other names).
  await console.getByRole('button', { name: 'English', exact: true }).click();
  await console.locator('html[lang=en]').waitFor();
  await assertAccessible(console, 'console in English', t);
  await giulia.page.getByRole('button', { name: 'English', exact: true }).click();
  await giulia.page.locator('html[lang=en]').waitFor();
  await assertAccessible(giulia.page, 'board in English', t);

  const projector = await world.openScreen('projector (1920×1080)', { width: 1920, height: 1080 });
  await projector.page.goto(projectorUrl);
  await projector.page.getByText(mine).first().waitFor({ timeout: 15_000 });
  await assertAccessible(projector.page, 'projector', t);
  // The results given back to the room (the console is in English now).
  const en = { map: 'Map of the social raw material', ledger: 'Who puts what on the table' };
  for (const step of ['map', 'ledger']) {
    await console.getByRole('button', { name: en[step], exact: true }).click();
    await projector.page.locator('.room-results').getByRole('heading', { name: it(`restitution.${step}`) }).waitFor({ timeout: 5_000 });
    await projector.page.locator('.room-results-empty, .room-results-columns, .room-results-table').first().waitFor({ timeout: 5_000 });
    await assertAccessible(projector.page, `projector, results: ${step}`, t);
  }
});
