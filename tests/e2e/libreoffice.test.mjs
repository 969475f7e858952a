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
// The report's ODT opened by a real LibreOffice Writer (headless): the
// fixture session's reports, written by the model's own test, converted to
// PDF and read back with pdftotext — the headings, a table cell, a
// commitment, the public version naming nobody, and no heading left alone
// at the foot of a page. The public version's pages go to docs/resoconto/
// as PNG. A second test takes the ODT through the server's endpoint.
//
// Run: cd tests/e2e && node --test libreoffice.test.mjs
// (only the ODT tests: node --test --test-name-pattern=ODT libreoffice.test.mjs)

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepare, REPO, Server } from './harness.mjs';

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

// ---- the ODT in LibreOffice Writer ----------------------------------------------

const RESOCONTO_DIR = join(REPO, 'docs', 'resoconto');

/** Converts `file` (in `dir`) to PDF with a throwaway LibreOffice profile; returns the PDF's path. */
function writerToPdf(dir, file) {
  execFileSync(
    'soffice',
    [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'pdf', '--outdir', dir, join(dir, file)],
    { stdio: 'pipe', timeout: 100_000 },
  );
  return join(dir, file.replace(/\.odt$/, '.pdf'));
}

/** The PDF's text, one string per page, white space folded. */
function pdfPages(pdf) {
  return execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' })
    .split('\f')
    .filter((page) => page.trim() !== '');
}

const fold = (s) => s.replace(/\s+/g, ' ').trim();

/** h2–h5 of the report's printable HTML (the ODT's Heading 1–4), decoded. */
function headingsOf(html) {
  return [...html.matchAll(/<h([2-5])>([^<]*)<\/h\1>/g)].map((m) => fold(decodeEntities(m[2])));
}

/**
 * The page's last line of text above the footer, or null for an empty page.
 * The footer ("Resoconto dell'incontro: … · 3 / 12") is the last line.
 */
function lastLineAboveFooter(page) {
  const lines = page.split('\n').map((l) => fold(l)).filter(Boolean);
  return lines.length >= 2 ? lines[lines.length - 2] : null;
}

test('ODT: LibreOffice Writer opens the report with its headings, tables and commitments; the public version names nobody', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tavolo-odt-'));
  try {
    // The fixture session's reports, as the model renders them (see model/tests/report_odt.rs).
    execFileSync('cargo', ['test', '-q', '-p', 'tavolo-model', '--test', 'report_odt', '--', 'writes_the_fixture'], {
      cwd: REPO,
      env: { ...process.env, TAVOLO_ODT_DIR: dir },
      stdio: 'pipe',
      timeout: 600_000,
    });
    const headings = {
      private: headingsOf(readFileSync(join(REPO, 'model', 'tests', 'golden', 'report.private.html'), 'utf8')),
      public: headingsOf(readFileSync(join(REPO, 'model', 'tests', 'golden', 'report.public.html'), 'utf8')),
    };
    for (const version of ['private', 'public']) {
      const pages = pdfPages(writerToPdf(dir, `report.${version}.odt`));
      const text = fold(pages.join(' '));
      assert.ok(pages.length >= 3, `${version}: a report of several pages (${pages.length})`);
      for (const h of ['Resoconto dell\'incontro', 'Dati dell\'incontro', 'Partecipazione', 'Dettaglio delle fasi', 'Fase 1: Legittimazione reciproca', 'Impegni', 'Prossimi passi', 'Domande per il prossimo incontro']) {
        assert.ok(text.includes(h), `${version}: heading "${h}" in Writer's rendering`);
      }
      for (const h of headings[version]) assert.ok(text.includes(h), `${version}: every heading of the HTML page is there: "${h}"`);
      // Table cells: a note, the commitments table's header and a commitment.
      assert.ok(text.includes('Conosciamo il territorio da dentro'), `${version}: a note in its table`);
      assert.match(text, /Organizzazione\s+Impegno\s+Entro\s/, `${version}: the commitments table's header row`);
      assert.ok(text.includes('Comune di Santarcangelo di Romagna'), `${version}: a committed organization`);
      assert.match(text, /Verificare quali spazi/, `${version}: a commitment`);
      assert.ok(text.includes("<script>alert('x')</script>"), `${version}: markup in a note is text`);
      // The charts are images: their labels are not text, the titles above them are.
      assert.ok(text.includes('Contributi per soggetto e tipo di risorsa'), `${version}: the ledger chart's title`);
      // No heading left alone at the foot of a page.
      for (const [i, page] of pages.entries()) {
        const last = lastLineAboveFooter(page);
        if (!last) continue;
        const stranded = headings[version].find((h) => h === last || (h.endsWith(last) && last.length > 12));
        assert.equal(stranded, undefined, `${version}: page ${i + 1} ends with the heading "${stranded}"`);
      }
      if (version === 'public') {
        for (const name of ['Anna Bellini', 'Giorgio Neri', 'Marco Ferri', 'Zebedeo Quaglierini', 'Lucia Gori', 'Ettore Castagnoli', 'Chiara Fabbri', 'Davide Rossini']) {
          assert.ok(!text.includes(name), `the public ODT names ${name}`);
        }
        // The pages people will see, for the docs: few and small.
        mkdirSync(RESOCONTO_DIR, { recursive: true });
        for (const old of readdirSync(RESOCONTO_DIR).filter((f) => /^odt-pagina-\d+\.png$/.test(f))) rmSync(join(RESOCONTO_DIR, old));
        const pdf = join(dir, `report.${version}.pdf`);
        const shown = [1, 3, 6, pages.length];
        for (const n of shown) {
          execFileSync('pdftoppm', ['-r', '60', '-png', '-singlefile', '-f', String(n), '-l', String(n), pdf, join(RESOCONTO_DIR, `odt-pagina-${n}`)]);
        }
      } else {
        assert.ok(text.includes('Anna Bellini'), 'the private ODT names the authors');
        assert.ok(text.includes('Chiara Fabbri e Davide Rossini'), 'the private ODT names who facilitated');
      }
    }
    // The English one reads in English.
    const en = fold(pdfPages(writerToPdf(dir, 'report.private.en.odt')).join(' '));
    assert.ok(!en.includes('Dettaglio delle fasi'), 'the English ODT is not in Italian');
    assert.ok(en.includes('Commitments'), 'the English ODT has its commitments heading');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ODT: the server sends the report as an OpenDocument Text download that Writer opens', { timeout: 180_000 }, async () => {
  prepare();
  const server = await Server.start();
  const dir = mkdtempSync(join(tmpdir(), 'tavolo-odt-server-'));
  try {
    const session = await server.createSession();
    const url = `${server.url}/api/sessions/${session.session_id}/report?format=odt&public=true&lang=it`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${session.facilitator_key}` } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/vnd.oasis.opendocument.text');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="tavolo-report-pubblico-[\w-]+\.odt"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.subarray(30, 38).toString('latin1'), 'mimetype', 'the mimetype entry comes first');
    assert.equal(bytes.subarray(38, 77).toString('latin1'), 'application/vnd.oasis.opendocument.text');
    writeFileSync(join(dir, 'report.odt'), bytes);
    const text = fold(pdfPages(writerToPdf(dir, 'report.odt')).join(' '));
    for (const h of ['Resoconto dell\'incontro', 'Versione pubblica', 'Partecipazione', 'Dettaglio delle fasi']) {
      assert.ok(text.includes(h), `"${h}" in Writer's rendering of the served ODT`);
    }
    // The other formats are as they were; an unknown one lists odt among the choices.
    const bad = await fetch(url.replace('format=odt', 'format=pdf'), { headers: { authorization: `Bearer ${session.facilitator_key}` } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /odt/);
  } finally {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
