// The report's CSV opened by a real LibreOffice Calc: every cell as written,
// Italian accents, quotes, commas and line breaks intact, and the BOM taken
// as the UTF-8 marker it is (not as part of the first header).
//
// A person opening the file gets Calc's import dialog; a headless
// conversion has none, so the test passes what that person picks there:
// comma, double quote, UTF-8 (filter options `44,34,76`). Without a
// charset, headless Calc 7.4 takes the system's and ignores the BOM (seen
// here with a Latin-1 locale), so the BOM alone is not relied on.
// Excel does take the BOM as UTF-8.
//
// Run: cd tests/e2e && node --test libreoffice.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './harness.mjs';

/** RFC 4180, as the report writes it: CRLF rows, "" for a quote inside quotes. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

const decodeEntities = (s) =>
  s
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');

/** The cells of Calc's HTML export, row by row (a line break in a cell is a <br>). */
function cellsOfCalcHtml(html) {
  return [...html.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) =>
    [...tr[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((td) =>
      decodeEntities(td[1].replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]+>/g, '').replace(/\n(?=\n)/g, '')).trim(),
    ),
  );
}

for (const name of ['report.private.csv', 'report.public.csv']) {
  test(`LibreOffice Calc reads ${name} cell for cell`, { timeout: 120_000 }, () => {
    const source = readFileSync(join(REPO, 'model', 'tests', 'golden', name), 'utf8');
    assert.ok(source.startsWith('\ufeff'), 'the CSV starts with a BOM');
    const expected = parseCsv(source.slice(1));
    const dir = mkdtempSync(join(tmpdir(), 'tavolo-lo-'));
    try {
      copyFileSync(join(REPO, 'model', 'tests', 'golden', name), join(dir, 'report.csv'));
      execFileSync(
        'soffice',
        [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--infilter=CSV:44,34,76', '--convert-to', 'html', '--outdir', dir, join(dir, 'report.csv')],
        { stdio: 'pipe', timeout: 100_000 },
      );
      const got = cellsOfCalcHtml(readFileSync(join(dir, 'report.html'), 'utf8'));
      assert.equal(got.length, expected.length, 'as many rows in Calc as in the file');
      assert.equal(got[0][0], expected[0][0], 'the BOM is not part of the first header');
      for (let r = 0; r < expected.length; r++) {
        // Calc leaves trailing empty cells out of its export.
        const want = expected[r].map((c) => c.trim());
        while (want.length > got[r].length && want[want.length - 1] === '') want.pop();
        assert.deepEqual(got[r], want, `row ${r + 1}`);
      }
      const accented = expected.flat().filter((c) => /[àèéìòù“”]/.test(c));
      assert.ok(accented.length > 0, 'the fixture has accented text to check');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
