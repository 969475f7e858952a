// What the browser tests stand on: the real server binary on a real port, a
// real Chromium emulating phones, and a few helpers that act the way a person
// does (fill the join form, type a note, press "Aggiungi").
//
// Nothing here sleeps to wait for a state: every wait is for a condition,
// with a timeout. Every process and browser a test starts is closed by
// `scenario()` even when the test fails (and by an exit hook if node itself
// is going down).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium, devices } from 'playwright-core';

export { devices };

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const SCREENSHOT_DIR = join(REPO, 'docs', 'screenshots');
/** Transient output (failure screenshots, server logs); git-ignored. */
export const OUTPUT_DIR = join(here, 'output');

const SERVER_BIN = process.env.TAVOLO_SERVER_BIN ?? join(REPO, 'target', 'debug', 'tavolo-server');
const WEB_DIR = process.env.TAVOLO_WEB_DIR ?? join(REPO, 'web', 'dist');
const CHROMIUM = process.env.TAVOLO_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// ---- the Italian catalogue ---------------------------------------------------

/**
 * The app's Italian strings, read from web/src/i18n/it.ts and it.console.ts so the tests find
 * buttons and labels by the words a person sees, and follow wording changes.
 * Only plain one-line string literals are understood, which is all we need.
 */
function loadCatalogue() {
  const source = ['it.ts', 'it.console.ts']
    .map((f) => readFileSync(join(REPO, 'web', 'src', 'i18n', f), 'utf8'))
    .join('\n');
  const entries = new Map();
  const entry = /'([\w.]+)':\s*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)")/g;
  for (const m of source.matchAll(entry)) {
    const raw = m[2] ?? m[3];
    entries.set(m[1], raw.replace(/\\(.)/g, '$1'));
  }
  return entries;
}

let catalogue = null;

/** The Italian text of `key`, with `{placeholders}` filled in. */
export function it(key, params = {}) {
  catalogue ??= loadCatalogue();
  const text = catalogue.get(key);
  if (text === undefined) throw new Error(`tests: no key '${key}' in web/src/i18n/it.ts or it.console.ts`);
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

// ---- prerequisites -------------------------------------------------------------

let prepared = false;

/** Builds what is missing (the server binary, the web app) once per run. */
export function prepare() {
  if (prepared) return;
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `tests: no Chromium at ${CHROMIUM}. Install it with ` +
        '`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core` ' +
        'or point TAVOLO_CHROMIUM at one.',
    );
  }
  if (!process.env.TAVOLO_SERVER_BIN && !existsSync(SERVER_BIN)) {
    run('cargo', ['build', '-p', 'tavolo-server'], 'building the server');
  }
  if (!existsSync(SERVER_BIN)) throw new Error(`tests: no server binary at ${SERVER_BIN}`);
  if (!process.env.TAVOLO_WEB_DIR && !existsSync(join(WEB_DIR, 'index.html'))) {
    run(join(REPO, 'scripts', 'build-web.sh'), [], 'building the web app');
  }
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new Error(`tests: the web app is not built in ${WEB_DIR}`);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  prepared = true;
}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`tests: ${what} failed (${command} exited ${result.status})`);
}

// ---- the server ----------------------------------------------------------------

/** Every server process still running, killed if node exits first. */
const liveProcesses = new Set();
process.on('exit', () => {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** The tavolo-server binary on a fresh data directory, restartable on the same port. */
export class Server {
  constructor(dataDir) {
    this.dataDir = dataDir;
    this.child = null;
    this.url = null;
    this.addr = '127.0.0.1:0';
    /** The tail of everything the server wrote to stderr, across restarts. */
    this.log = [];
  }

  static async start() {
    const server = new Server(mkdtempSync(join(tmpdir(), 'tavolo-e2e-')));
    await server.spawnOnce();
    return server;
  }

  /** One attempt to start; resolves once `TAVOLO_LISTENING` is printed. */
  spawnOnce(timeoutMs = 30_000) {
    const args = ['--announce', '--addr', this.addr, '--data-dir', this.dataDir, '--web-dir', WEB_DIR];
    const child = spawn(SERVER_BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    liveProcesses.add(child);
    // 'close' comes after the output streams end, so the log is complete.
    child.exited = new Promise((done) =>
      child.on('close', (code, signal) => {
        liveProcesses.delete(child);
        done({ code, signal });
      }),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      // eslint-disable-next-line no-control-regex
      this.log.push(...chunk.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter(Boolean));
      if (this.log.length > 400) this.log.splice(0, this.log.length - 400);
    });
    return new Promise((resolvePromise, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tests: the server did not announce itself in ${timeoutMs} ms\n${this.logTail()}`));
      }, timeoutMs);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const m = /TAVOLO_LISTENING (\S+)/.exec(stdout);
        if (m && this.child !== child) {
          clearTimeout(timer);
          this.child = child;
          this.url = m[1];
          this.addr = new URL(this.url).host;
          resolvePromise();
        }
      });
      void child.exited.then(({ code, signal }) => {
        if (this.child === child) return;
        clearTimeout(timer);
        reject(new Error(`tests: the server exited (code ${code}, signal ${signal}) before listening\n${this.logTail()}`));
      });
    });
  }

  /** Stops the process; SIGTERM gets `graceMs` before SIGKILL. Returns how it ended. */
  async stop(signal = 'SIGKILL', graceMs = 10_000) {
    const child = this.child;
    if (!child) return null;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exited;
    child.kill(signal);
    if (signal === 'SIGKILL') return child.exited;
    let timer;
    const forced = new Promise((done) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ forced: true });
      }, graceMs);
    });
    const ended = await Promise.race([child.exited, forced]);
    clearTimeout(timer);
    return ended.forced ? { ...(await child.exited), forced: true } : ended;
  }

  /** Starts again on the same address and data directory, retrying while the port is busy. */
  async restart(timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.spawnOnce();
        return;
      } catch (e) {
        const busy = /address already in use|os error 98|binding/i.test(String(e.message));
        if (!busy || Date.now() > deadline) throw e;
        // The port is briefly held: retry (a retry interval, not a wait for state).
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async createSession() {
    const response = await fetch(`${this.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'tavolo-prima-sessione' }),
    });
    const body = await response.json();
    if (response.status !== 201) throw new Error(`tests: POST /api/sessions → ${response.status} ${JSON.stringify(body)}`);
    return body;
  }

  logTail(lines = 40) {
    return this.log.slice(-lines).join('\n');
  }

  async dispose() {
    await this.stop('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// ---- the phones ----------------------------------------------------------------

/** One person's phone: a browser context emulating a device, and its page. */
export class Phone {
  constructor(label, context, page) {
    this.label = label;
    this.context = context;
    this.page = page;
    this.errors = [];
    this.console = [];
    page.on('pageerror', (e) => this.errors.push(String(e?.stack ?? e)));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.console.push(`${m.type()}: ${m.text()}`);
    });
  }

  /** The connection badge showing `status` (connected, reconnecting…), found by its name. */
  badge(status) {
    return this.page.getByRole('status', { name: it('connection.label', { status: it(`connection.${status}`) }) });
  }

  /** A guiding question's section, found by its text (the section is labelled by it). */
  question(text) {
    return this.page.getByRole('region', { name: text, exact: true });
  }

  /** A note (a list item under a question) showing `text`. */
  note(questionText, text) {
    return this.question(questionText).getByRole('listitem').filter({ hasText: text });
  }

  /** Opens /j/CODE and fills in the form as a person would, then waits for the board. */
  async join(baseUrl, code, person) {
    await this.fillJoinForm(baseUrl, code, person);
    await this.page.getByRole('button', { name: it('join.submit'), exact: true }).click();
    await this.page.waitForURL((url) => url.pathname === `/b/${code}`, { timeout: 10_000 });
    await this.waitForBoard();
  }

  /** Opens /j/CODE and fills in the form, without pressing "Entra". */
  async fillJoinForm(baseUrl, code, person) {
    const page = this.page;
    await page.goto(`${baseUrl}/j/${code}`);
    const codeField = page.getByLabel(it('join.code'), { exact: true });
    await codeField.waitFor();
    const prefilled = await codeField.inputValue();
    if (prefilled !== code) throw new Error(`${this.label}: the code field shows '${prefilled}', not '${code}'`);
    await page.getByLabel(it('join.name'), { exact: true }).fill(person.name);
    if (person.organization) {
      await page.getByLabel(it('join.organization'), { exact: true }).fill(person.organization);
      // Asked only once there is an organization; unchecked unless told.
      const consent = page.getByRole('checkbox', { name: it('join.listOrganization'), exact: true });
      if ((await consent.isChecked()) !== Boolean(person.listOrganization)) await consent.click();
    }
    await page.getByRole('radio', { name: it(`sector.${person.sector}`), exact: true }).check();
    await page.getByRole('radio', { name: it(`tier.${person.tier}`), exact: true }).check();
    await page.getByRole('radio', { name: it(`attendance.${person.attendance}`), exact: true }).check();
  }

  /** The board is there: connected, with the current phase's composers. */
  async waitForBoard(timeout = 15_000) {
    await this.badge('connected').waitFor({ timeout });
    await this.page.getByRole('button', { name: it('composer.submit'), exact: true }).first().waitFor({ timeout });
  }

  /**
   * Types `text` in the question's composer, chooses its category (`category`,
   * or "Altro" where the question asks for one) and presses its add button.
   * Returns the page's `Date.now()` at the moment the button got the click.
   */
  async addNote(questionText, text, { anonymous = false, category = null } = {}) {
    const section = this.question(questionText);
    await section.getByLabel(it('composer.label'), { exact: true }).fill(text);
    await chooseCategory(section, category);
    if (anonymous) await section.getByRole('checkbox', { name: it('composer.anonymous'), exact: true }).check();
    const button = section.getByRole('button', { name: it('composer.submit'), exact: true });
    await button.evaluate((el) => {
      el.addEventListener('click', () => (window.__tavoloClickAt = Date.now()), { once: true, capture: true });
    });
    await button.click();
    const clickedAt = await this.page.evaluate(() => window.__tavoloClickAt);
    // A person sees their note land before doing anything else. New notes go
    // on top, pushing the others down: acting on another note before this one
    // is painted can click where that note no longer is.
    await section.locator('li.note-card', { hasText: text }).first().waitFor({ timeout: 5_000 });
    return clickedAt;
  }

  /**
   * Starts watching for `text` to show up in the page's main content; `seenAt()`
   * of the returned handle resolves to the page's `Date.now()` when it did (in
   * the frame after the DOM changed), or null after `timeoutMs`.
   */
  async watchFor(text, timeoutMs = 10_000) {
    const key = `w${Math.random().toString(36).slice(2)}`;
    await this.page.evaluate(
      ({ key, text, timeoutMs }) => {
        const registry = (window.__tavoloWatches ??= {});
        registry[key] = new Promise((resolveWatch) => {
          const shown = () => (document.querySelector('main')?.innerText ?? '').includes(text);
          let observer = null;
          let timer = null;
          const finish = (value) => {
            observer?.disconnect();
            clearTimeout(timer);
            resolveWatch(value);
          };
          const seen = () => {
            const domAt = Date.now();
            // The frame after the change is when it is on screen; a fallback in
            // case frames are throttled.
            let done = false;
            const painted = () => {
              if (done) return;
              done = true;
              finish({ domAt, paintAt: Date.now() });
            };
            requestAnimationFrame(painted);
            setTimeout(painted, 100);
          };
          if (shown()) return finish({ domAt: Date.now(), paintAt: Date.now(), already: true });
          observer = new MutationObserver(() => {
            if (shown()) {
              observer.disconnect();
              seen();
            }
          });
          observer.observe(document.body, { childList: true, subtree: true, characterData: true });
          timer = setTimeout(() => finish(null), timeoutMs);
        });
      },
      { key, text, timeoutMs },
    );
    return { seenAt: () => this.page.evaluate((k) => window.__tavoloWatches[k], key) };
  }

  /** The whole page from the top (the sticky bar would otherwise sit where the page was scrolled). */
  async screenshot(path, fullPage = true) {
    await this.page.evaluate(async () => {
      window.scrollTo(0, 0);
      await document.fonts.ready;
    });
    await this.page.screenshot({ path, fullPage, animations: 'disabled', caret: 'hide' });
  }
}

/** Opens a phone on `browser` emulating `deviceName`, in Italian. */
export async function openPhone(browser, deviceName, label = deviceName) {
  const device = devices[deviceName];
  if (!device) throw new Error(`tests: playwright-core has no device '${deviceName}'`);
  // Chromium emulates the device; WebKit-only details of the iPhone profile are ignored.
  const { defaultBrowserType: _ignored, ...options } = device;
  const context = await browser.newContext({ ...options, locale: 'it-IT', timezoneId: 'Europe/Rome' });
  const page = await context.newPage();
  return new Phone(label, context, page);
}

export async function launchBrowser() {
  // launch() gives every browser a fresh temporary profile (its own
  // user-data-dir), removed when the browser closes.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

// ---- checks --------------------------------------------------------------------

/**
 * Every visible button, link, input, select and textarea whose touch target is
 * under `min` px tall. An input's touch target includes the label wrapped
 * around it (tapping a radio's label tile selects it), since that is what a
 * thumb hits; elements clipped to 1 px (visually hidden) are skipped.
 */
export async function smallTouchTargets(page, min = 44) {
  return page.evaluate((min) => {
    const selector =
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=link], [tabindex]:not([tabindex="-1"])';
    const describe = (el) => {
      const labels = [...(el.labels ?? [])].map((l) => l.innerText.trim()).filter(Boolean);
      const name = (el.getAttribute('aria-label') || labels.join(' / ') || el.innerText || el.placeholder || '').trim();
      const classes = el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      const type = el.type && el.tagName !== 'BUTTON' ? `[type=${el.type}]` : '';
      return `<${el.tagName.toLowerCase()}${type}${el.id ? `#${el.id}` : ''}${classes}> "${name.slice(0, 60)}"`;
    };
    const small = [];
    for (const el of document.querySelectorAll(selector)) {
      if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      const box = el.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) continue;
      let height = box.height;
      for (const label of el.labels ?? []) {
        if (label.contains(el)) height = Math.max(height, label.getBoundingClientRect().height);
      }
      if (height < min) small.push(`${describe(el)}: ${Math.round(height * 10) / 10} px tall`);
    }
    return small;
  }, min);
}

/**
 * The page's width against the phone's: `document.documentElement.scrollWidth`
 * must not exceed `window.innerWidth`, and `innerWidth` must still be the
 * device's width — under mobile emulation Chromium widens the layout viewport
 * to fit content that sticks out (and zooms out), so the first comparison
 * alone would pass on a page that overflows. Lists the elements sticking out.
 */
export async function horizontalOverflow(page, deviceWidth) {
  return page.evaluate((deviceWidth) => {
    const innerWidth = window.innerWidth;
    const scrollWidth = document.documentElement.scrollWidth;
    const culprits = [];
    if (scrollWidth > innerWidth || innerWidth !== deviceWidth) {
      for (const el of document.querySelectorAll('body *')) {
        const box = el.getBoundingClientRect();
        if (box.right > deviceWidth + 0.5 && el.checkVisibility()) {
          const classes = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
          culprits.push(`<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${classes}> right edge at ${Math.round(box.right)} px`);
          if (culprits.length >= 10) break;
        }
      }
    }
    return { innerWidth, scrollWidth, culprits, ok: scrollWidth <= innerWidth && innerWidth === deviceWidth };
  }, deviceWidth);
}

// ---- the console -----------------------------------------------------------------

/**
 * The projector link the console offers, once the server has given it a
 * viewer ticket: `…/p/SESSION#v=TICKET`, never the facilitator key. Read
 * from the "open the projector" link, which points at it.
 */
export async function projectorLinkOf(consolePage, timeout = 10_000) {
  const link = consolePage
    .getByRole('link', { name: it('console.projector.open'), exact: true })
    .and(consolePage.locator('a[href*="#v="]'));
  await link.waitFor({ timeout });
  return link.getAttribute('href');
}

// ---- one test's world --------------------------------------------------------

/**
 * A test with its own server and browser, closed whatever happens. On a
 * failure, each phone's screen, console and the server's log tail are saved
 * under tests/e2e/output/.
 */
export function scenario(name, options, body) {
  return test(name, { timeout: 120_000, ...options }, async (t) => {
    prepare();
    const world = { server: null, browser: null, phones: [] };
    world.openPhone = async (deviceName, label) => {
      world.browser ??= await launchBrowser();
      const phone = await openPhone(world.browser, deviceName, label);
      world.phones.push(phone);
      return phone;
    };
    // A desktop-sized page (the console, the projector), wrapped like a
    // phone for the diagnostics; `options` adds to the browser context's.
    world.openScreen = async (label, viewport, options = {}) => {
      world.browser ??= await launchBrowser();
      const context = await world.browser.newContext({ viewport, locale: 'it-IT', timezoneId: 'Europe/Rome', ...options });
      const screen = new Phone(label, context, await context.newPage());
      world.phones.push(screen);
      return screen;
    };
    try {
      world.server = await Server.start();
      await body(world, t);
      for (const phone of world.phones) {
        if (phone.errors.length > 0) throw new Error(`${phone.label}: uncaught errors in the page:\n${phone.errors.join('\n')}`);
      }
    } catch (error) {
      await saveDiagnostics(name, world).catch((e) => t.diagnostic(`could not save diagnostics: ${e}`));
      throw error;
    } finally {
      await world.browser?.close().catch(() => {});
      await world.server?.dispose().catch(() => {});
    }
  });
}

async function saveDiagnostics(name, world) {
  const slug = name.replace(/[^\w]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  const lines = [];
  for (const phone of world.phones) {
    const file = join(OUTPUT_DIR, `${slug}--${phone.label.replace(/\W+/g, '-')}.png`);
    await phone.page.screenshot({ path: file, fullPage: true, timeout: 5_000 }).catch(() => {});
    lines.push(`== ${phone.label} (${phone.page.url()})`, ...phone.errors, ...phone.console);
  }
  if (world.server) lines.push('== server log', world.server.logTail(100));
  writeFileSync(join(OUTPUT_DIR, `${slug}.log`), `${lines.join('\n')}\n`);
}

// ---- the people of the tests ---------------------------------------------------

/** A participant in the room, from the public sector. */
export const GIULIA = {
  name: 'Giulia Bianchi',
  organization: 'Comune di Santarcangelo di Romagna',
  sector: 'public',
  tier: 'founding_core',
  attendance: 'in_room',
};

/** A remote participant, from the social-private sector. */
export const MARCO = {
  name: 'Marco Rossi',
  organization: 'Cooperativa sociale Il Millepiedi',
  sector: 'social_private',
  tier: 'strategic_extension',
  attendance: 'remote',
};

/** A token that makes each note's text unique within the run. */
export const unique = () => Math.random().toString(36).slice(2, 8);

/**
 * Chooses a note's category in a composer: the label given, or "Altro" when
 * the question asks for one and none is given (a category is chosen on
 * purpose: the add button asks for one otherwise).
 */
export async function chooseCategory(section, category = null) {
  if (category) return section.getByRole('radio', { name: category, exact: true }).check();
  const other = section.getByRole('radio', { name: it('composer.noCategory'), exact: true });
  if ((await other.count()) > 0) await other.check();
}
