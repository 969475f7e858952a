// What a participant's phone pays to take part, measured in Chromium at a
// phone's size, on demand (not a test: timings flake on a shared machine):
//
// - bytes over the wire (encoded, as the server sent them) for the join
//   page and then the board, from a fresh browser profile;
// - the same path with Chromium's 4× CPU throttle and Fast 3G emulation
//   (150 ms latency, 1.6 Mbit/s down, 750 kbit/s up): time until the join
//   form can be filled in, and from "Entra" until the board can take a
//   note.
//
// Run: cd tests/e2e && node measure-phone.mjs   (after scripts/build-web.sh)

import { devices, GIULIA, it, launchBrowser, Phone, prepare, Server } from './harness.mjs';

const FAST_3G = {
  offline: false,
  latency: 150 * 3.75, // Chromium DevTools' "Fast 3G" preset, as Lighthouse applies it
  downloadThroughput: ((1.6 * 1024 * 1024) / 8) * 0.9,
  uploadThroughput: ((750 * 1024) / 8) * 0.9,
};

async function onePhone(browser, server, code, throttled) {
  // Service workers blocked: what the page itself fetches (the worker would
  // fetch the same files, unseen here, and serve them from its cache).
  const { defaultBrowserType: _ignored, ...device } = devices['Pixel 7'];
  const context = await browser.newContext({ ...device, locale: 'it-IT', serviceWorkers: 'block' });
  const phone = new Phone(throttled ? 'throttled phone' : 'phone', context, await context.newPage());
  const cdp = await phone.context.newCDPSession(phone.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const bytes = new Map();
  const urls = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => bytes.set(e.requestId, e.encodedDataLength));
  if (throttled) {
    await cdp.send('Network.emulateNetworkConditions', FAST_3G);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  const page = phone.page;
  const start = Date.now();
  await page.goto(`${server.url}/j/${code}`);
  await page.getByLabel(it('join.name'), { exact: true }).waitFor({ timeout: 60_000 });
  // Interactive: the form takes typing and the button is there.
  await page.getByLabel(it('join.name'), { exact: true }).fill(GIULIA.name);
  await page.getByRole('button', { name: it('join.submit'), exact: true }).waitFor();
  const joinMs = Date.now() - start;
  const joinBytes = [...bytes.values()].reduce((a, b) => a + b, 0);
  await page.getByLabel(it('join.organization'), { exact: true }).fill(GIULIA.organization);
  for (const kind of ['sector', 'tier', 'attendance']) {
    await page.getByRole('radio', { name: it(`${kind}.${GIULIA[kind]}`), exact: true }).check();
  }
  const submit = Date.now();
  await page.getByRole('button', { name: it('join.submit'), exact: true }).click();
  await phone.waitForBoard(120_000);
  const boardMs = Date.now() - submit;
  const totalMs = Date.now() - start;
  const all = [...bytes.entries()].map(([id, n]) => [urls.get(id) ?? id, n]);
  await phone.context.close();
  return { joinMs, boardMs, totalMs, joinBytes, all };
}

prepare();
const server = await Server.start();
const browser = await launchBrowser();
try {
  const session = await server.createSession();
  const plain = await onePhone(browser, server, session.join_code, false);
  const total = plain.all.reduce((a, [, n]) => a + n, 0);
  console.log('Over the wire (encoded bytes), join page then board, fresh profile:');
  for (const [url, n] of plain.all.sort((a, b) => b[1] - a[1])) {
    if (n > 0) console.log(`  ${(n / 1000).toFixed(1).padStart(7)} KB  ${url.replace(server.url, '')}`);
  }
  console.log(`  join page ${(plain.joinBytes / 1000).toFixed(1)} KB; join page and board ${(total / 1000).toFixed(1)} KB (${total} bytes; issue 16 asks for at most 450 KB)`);
  const throttled = await onePhone(browser, server, session.join_code, true);
  console.log('4× CPU throttle and Fast 3G:');
  console.log(`  join page interactive in ${(throttled.joinMs / 1000).toFixed(2)} s`);
  console.log(`  board ready ${(throttled.boardMs / 1000).toFixed(2)} s after "Entra" (the form filled in by the script, no pause), ${(throttled.totalMs / 1000).toFixed(2)} s after opening the join page`);
} finally {
  await browser.close();
  await server.dispose();
}
