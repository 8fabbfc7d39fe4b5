// The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core): it
// loads without console errors, takes the token from ?token= into sessionStorage and out of the
// URL, shows a device connected by mosquitto_sub with its certificate's days left, and its
// disconnect button disconnects it. UPDATE_SCREENSHOT=1 writes docs/dashboard.png for the README.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { type Browser, chromium } from 'playwright-core';
import type { Broker } from '../../src/broker/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { type Started, start, until } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-dashboard-'));
const TOKEN = 'dashboard-token-41c9';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN);
let pki: TestPki;
let broker: Broker;
let browser: Browser;
let device: Started;
const logs: Array<Record<string, unknown>> = [];

before(async () => {
  pki = await createTestPki();
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: mutualTls(pki, { usernameFrom: 'cn' }) },
      ],
      allowAnonymous: true,
      sysInterval: 0,
      admin: { port: 0, tokenFile },
    },
    pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  );
  // As the probe of this machine found: these flags keep Chromium off the closed network.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  device = start('mosquitto_sub', [
    ...['-h', 'localhost', '-p', String(broker.listeners[1]!.port), '--cafile', pki.caFile],
    ...['--cert', pki.clients.valid.cert, '--key', pki.clients.valid.key],
    ...['-i', 'dash-device', '-t', 'dash/#', '-V', 'mqttv5'],
  ]);
  await until(
    'the device connected',
    () => broker.core.sessions.get('dash-device')?.subscriptionCount === 1,
    10_000,
  );
});
after(async () => {
  await device?.stop();
  await browser?.close();
  await broker?.close();
});

describe('the dashboard in headless Chromium', () => {
  it('shows the device and its certificate days left, with no console error; the button disconnects it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => void problems.push(error.message));
    // The page itself is served without the token; it carries none of the broker's data.
    await page.goto(`${broker.admin!.url}/?token=${TOKEN}`);
    const row = page.locator('tr[data-client-id="dash-device"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    assert.equal(await page.evaluate('sessionStorage.getItem("warden-token")'), TOKEN);
    assert.equal(await page.evaluate('document.cookie'), '');

    const notAfter = new Date(new X509Certificate(pki.clients.valid.certificatePem).validTo).getTime();
    const expected = Math.floor((notAfter - Date.now()) / 86_400_000);
    const days = await row.locator('td.days').textContent();
    assert.ok(Math.abs(Number(days) - expected) <= 1, `days left ${days}, expected about ${expected}`);
    const certificateRow = page.locator('#certs tr', { hasText: 'dash-device' });
    assert.match((await certificateRow.textContent()) ?? '', /device.*CN=device-1/);

    if (process.env.UPDATE_SCREENSHOT) {
      mkdirSync('docs', { recursive: true });
      await page.waitForTimeout(2500); // a second poll, so the rate chart has a point
      await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
    }

    const from = logs.length;
    await row.locator('button', { hasText: 'disconnect' }).click();
    await until(
      'the device disconnected',
      () =>
        logs
          .slice(from)
          .some((l) => l.clientId === 'dash-device' && l.reason === 'disconnected through the admin API'),
      10_000,
    );
    assert.deepEqual(problems, [], 'no console errors');
    await page.close();
  });

  it('without a token the page asks for one; the API refuses the browser with 401', async () => {
    const page = await browser.newPage();
    await page.goto(`${broker.admin!.url}/`);
    await page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await page.locator('#main').isVisible(), false);
    const status = await page.evaluate('fetch("/api/clients").then((r) => r.status)');
    assert.equal(status, 401);
    await page.fill('#token', TOKEN);
    await page.click('#login button');
    await page.locator('#main').waitFor({ state: 'visible', timeout: 10_000 });
    await page.close();
  });
});
