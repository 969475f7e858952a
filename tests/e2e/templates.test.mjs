// A facilitator's own template, in a real browser: editing a copy of the
// built-in one on a laptop (a mistake is named with its line, the button
// takes the caret there, the fix lets the session start with the edited
// phase), and uploading a broken file from a phone.
//
// Run: cd tests/e2e && node --test templates.test.mjs

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { devices, horizontalOverflow, it, scenario, SCREENSHOT_DIR } from './harness.mjs';

const EDITED_PHASE = 'Chi siamo, e perché noi';

/** 1-based line and column (in code points) of `needle` in `text`, as the server counts them. */
function positionOf(text, needle) {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `'${needle}' is in the text`);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  return { line, column };
}

scenario(
  'a facilitator edits a copy of the built-in template, fixes the line the check names, and starts the session',
  { timeout: 120_000 },
  async (world) => {
    const base = world.server.url;
    const screen = await world.openScreen('facilitator (1280×800)', { width: 1280, height: 800 });
    const page = screen.page;
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: it('template.edit.button'), exact: true }).click();

    const editor = page.getByLabel(it('template.edit.label'), { exact: true });
    await editor.waitFor({ timeout: 10_000 });
    await page.getByText(it('template.valid', { title: 'Prima sessione del Tavolo di Negoziazione' })).waitFor({ timeout: 10_000 });
    const original = await editor.inputValue();
    assert.match(original, /^# Built-in template/);
    const submit = page.getByRole('button', { name: it('start.create.submit'), exact: true });
    assert.equal(await submit.isEnabled(), true, 'a valid copy can start a session');

    // The facilitator renames the first phase and, in the map of resources,
    // names a category that does not exist ("spazio" instead of "spazi").
    const firstCategories = 'categories = ["competenze", "spazi",';
    const broken = original
      .replace('title = "Legittimazione reciproca"', `title = "${EDITED_PHASE}"`)
      .replace(firstCategories, 'categories = ["competenze", "spazio",');
    const where = positionOf(broken, '"spazio"');
    await editor.fill(broken);

    const problem = it('template.problemAt', {
      line: where.line,
      column: where.column,
      problem: it('template.problem.unknown_category', { question: 'materia-prima', category: 'spazio' }),
    });
    await page.getByText(problem, { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await submit.isDisabled(), true, 'an invalid template cannot start a session');

    // "Vai alla riga N" puts the caret on the mistake.
    await page.getByRole('button', { name: it('template.goToLine', { line: where.line }), exact: true }).click();
    await page.getByText(it('template.edit.caret', where), { exact: true }).waitFor({ timeout: 5_000 });
    const caret = await editor.evaluate((el) => el.selectionStart);
    assert.equal(broken.slice(caret, caret + 8), '"spazio"', 'the caret is at the start of the unknown category');
    // The marked line number is the problem's, and in view.
    const marked = page.locator('.template-editor-problem-line');
    assert.equal((await marked.textContent())?.trim(), String(where.line));
    assert.equal(
      await editor.evaluate((el) => {
        const lineHeight = parseFloat(getComputedStyle(el).lineHeight);
        const top = (Number(document.querySelector('.template-editor-problem-line').textContent) - 1) * lineHeight;
        return top >= el.scrollTop && top < el.scrollTop + el.clientHeight;
      }),
      true,
      'the problem line is scrolled into view',
    );
    await screen.screenshot(join(SCREENSHOT_DIR, 'template-editor.png'));

    // The fix, typed where the caret is: delete the "o" of "spazio".
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Delete');
    await page.getByText(it('template.valid', { title: 'Prima sessione del Tavolo di Negoziazione' })).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByText(problem, { exact: true }).count(), 0);
    await page.locator('.template-outline li', { hasText: EDITED_PHASE }).waitFor();

    await page.getByLabel(it('start.create.title'), { exact: true }).fill('Tavolo, copia modificata');
    await submit.click();
    await page.getByRole('heading', { name: it('start.created.heading') }).waitFor({ timeout: 10_000 });
    await page.getByRole('link', { name: it('start.created.openFacilitator'), exact: true }).click();
    await page
      .getByRole('heading', { name: it('console.currentPhase', { number: 1, title: EDITED_PHASE }) })
      .waitFor({ timeout: 15_000 });
  },
);

scenario('a phone uploads a broken template and reads where it is wrong', { timeout: 90_000 }, async (world) => {
  const base = world.server.url;
  const phone = await world.openPhone('Pixel 7', 'facilitator (Pixel 7)');
  const page = phone.page;
  await page.goto(`${base}/`);

  // Two phases with the same id: the second is named, with the first's line.
  const source = [
    'id = "assemblea"',
    'title = "Assemblea del quartiere Capanni, primavera"',
    '',
    '[[phases]]',
    'id = "ascolto"',
    'title = "Ascolto"',
    '',
    '[[phases.questions]]',
    'id = "cosa-manca"',
    'text = "Cosa manca oggi nel quartiere, secondo te, per stare bene insieme a chi ci vive e a chi ci lavora ogni giorno?"',
    '',
    '[[phases]]',
    'id = "ascolto"',
    'title = "Proposte"',
    '',
    '[[phases.questions]]',
    'id = "cosa-facciamo"',
    'text = "Cosa possiamo fare insieme?"',
    '',
  ].join('\n');
  await page.locator('#template-file').setInputFiles({
    name: 'assemblea-capanni.toml',
    mimeType: 'application/toml',
    buffer: Buffer.from(source, 'utf8'),
  });
  await page.getByText(it('template.upload.file', { name: 'assemblea-capanni.toml' })).waitFor({ timeout: 10_000 });
  const problem = it('template.problemAt', {
    line: 13,
    column: 6,
    problem: it('template.problem.duplicate_phase_id', { id: 'ascolto', first_line: 5 }),
  });
  await page.getByText(problem, { exact: true }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole('button', { name: it('start.create.submit'), exact: true }).isDisabled(), true);

  const width = devices['Pixel 7'].viewport.width;
  let overflow = await horizontalOverflow(page, width);
  assert.ok(overflow.ok, `the page overflows the phone: ${JSON.stringify(overflow)}`);
  await phone.screenshot(join(SCREENSHOT_DIR, 'template-error-phone.png'));

  // "Correggi il testo" opens the file's text with the caret on the mistake;
  // the long question line scrolls inside the editor, not the page.
  await page.getByRole('button', { name: it('template.upload.openInEditor'), exact: true }).click();
  const editor = page.getByLabel(it('template.edit.label'), { exact: true });
  await editor.waitFor();
  await page.getByText(it('template.edit.caret', { line: 13, column: 6 }), { exact: true }).waitFor({ timeout: 5_000 });
  overflow = await horizontalOverflow(page, width);
  assert.ok(overflow.ok, `the editor overflows the phone: ${JSON.stringify(overflow)}`);
  assert.ok(
    await editor.evaluate((el) => el.scrollWidth > el.clientWidth),
    'the long line scrolls inside the editor',
  );
});
