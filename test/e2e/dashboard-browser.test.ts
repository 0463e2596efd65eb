/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against the
 * running demo (`strangler demo memory` in a child process, as `npm start` runs it): log in
 * with the token the demo prints, watch the orders entity live, start a reconciliation and
 * see its verdict, move the canary to 10 % with a reason and back, see both in the audit
 * list; a viewer session has no action buttons; a same-origin POST without the CSRF token is
 * refused. Screenshots go to test-artifacts/dashboard/ (kept by CI, ignored by git).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/servers.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/strangler.mjs');
const SHOTS = path.resolve(import.meta.dirname, '../../test-artifacts/dashboard');
const CHROMIUM = '/usr/bin/chromium';
const VIEWER = 'e2e-dashboard-viewer';

interface Demo {
  child: ChildProcess;
  output: () => string;
  dashboard: string;
  token: string;
}

/** Starts the demo on free ports and waits for the lines naming the dashboard and the admin token. */
async function startDemo(): Promise<Demo> {
  const [publicPort, adminPort, legacyPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [BIN, 'demo', 'memory'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'],
      LOG_LEVEL: 'warn',
      STRANGLER_PUBLIC_PORT: String(publicPort),
      STRANGLER_ADMIN_PORT: String(adminPort),
      DEMO_LEGACY_PORT: String(legacyPort),
      // The operator token is the one the demo makes up and prints; a viewer token is added.
      STRANGLER_VIEWER_TOKEN: VIEWER,
    },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 90_000;
  for (;;) {
    const dashboard = /dashboard \(in a browser\):\s+(http:\/\/\S+\/)\s/.exec(out)?.[1];
    const token = /export STRANGLER_ADMIN_URL=\S+ STRANGLER_ADMIN_TOKEN=(\S+)/.exec(out)?.[1];
    if (dashboard && token) return { child, output: () => out, dashboard, token };
    if (child.exitCode !== null) throw new Error(`the demo exited (${child.exitCode}) before printing the dashboard line:\n${out}`);
    if (Date.now() > deadline) throw new Error(`the demo printed no dashboard line within 90 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopDemo(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function logIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.locator('#login-token').fill(token);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#who-role').waitFor({ state: 'visible' });
}

/** Answers the reason dialog the page opens for a change. */
async function confirm(page: Page, reason: string, percent?: number): Promise<void> {
  const dialog = page.locator('#reason-dialog');
  await dialog.waitFor({ state: 'visible' });
  if (percent !== undefined) await page.locator('#reason-percent').fill(String(percent));
  await page.locator('#reason-text').fill(reason);
  await page.locator('#reason-ok').click();
  await dialog.waitFor({ state: 'hidden' });
}

describe('the dashboard in a browser, against the running demo', () => {
  let demo: Demo | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; npm test's pretest step does this).`);
    fs.mkdirSync(SHOTS, { recursive: true });
    demo = await startDemo();
    // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (demo) await stopDemo(demo.child);
  });

  it('an operator logs in with the printed token, watches orders live, reconciles, moves the canary to 10 % and back', async () => {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await logIn(page, demo!.dashboard, demo!.token);
    expect(await page.locator('#who-role').textContent()).toBe('operator');
    expect(await page.locator('#who-name').textContent()).toBe('ops');
    // The page kept nothing of the token: not in the field, not in storage.
    expect(await page.locator('#login-token').inputValue()).toBe('');
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(
      demo!.token,
    );
    // The cookie is HttpOnly: the page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookie = (await context.cookies()).find((c) => c.name === 'strangler_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

    // The orders entity, its projection lag, and values that move without a reload (the traffic generator appends).
    const orders = page.locator('article[data-entity="orders"]');
    await expect.poll(() => orders.locator('[data-field=lag]').textContent(), { timeout: 20_000 }).toMatch(/^\d+ events, \d+ ms$/);
    expect(await orders.locator('[data-field=stage]').textContent()).toBe('shadow');
    expect(await orders.locator('[data-field=projection-state]').textContent()).toBe('running');
    await expect.poll(() => orders.locator('[data-field=gates] tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const head = async () => Number(/head (\d+)/.exec((await page.locator('#s-store').textContent()) ?? '')?.[1] ?? NaN);
    await expect.poll(head, { timeout: 20_000 }).toBeGreaterThan(0);
    const firstHead = await head();
    const firstUpdate = await page.locator('#s-updated').textContent();
    await expect.poll(head, { timeout: 30_000 }).toBeGreaterThan(firstHead);
    await expect.poll(() => page.locator('#s-updated').textContent(), { timeout: 10_000 }).not.toBe(firstUpdate);
    expect(await page.locator('#s-upstream').textContent()).toBe('reachable');
    expect(await page.locator('#s-spool').textContent()).toMatch(/^\d+/);
    await shot(page, '01-overview');

    // Start a reconciliation of orders: its verdict appears, with the trend chart and a report page that opens with the session.
    const verdict = orders.locator('[data-field=verdict]');
    const runBefore = Number((await verdict.getAttribute('data-run-id')) ?? 0);
    await orders.locator('[data-action=reconcile]').click();
    await expect.poll(async () => Number((await verdict.getAttribute('data-run-id')) ?? 0), { timeout: 60_000 }).toBeGreaterThan(runBefore);
    await expect
      .poll(() => verdict.textContent(), { timeout: 60_000 })
      .toMatch(/^run #\d+: (within_tolerance|over_tolerance|inconclusive) · mismatch [\d.]+ %/);
    expect(await orders.locator('[data-field=trend] svg circle').count()).toBeGreaterThan(0);
    await shot(page, '02-reconciled');
    const reportHref = await orders.locator('[data-field=report-link]').getAttribute('href');
    expect(reportHref).toMatch(/^\/admin\/reconciliations\/\d+\?format=html$/);
    const report = await context.newPage();
    const reportAnswer = await report.goto(new URL(reportHref!, demo!.dashboard).href);
    expect(reportAnswer!.status()).toBe(200);
    expect(await report.locator('h1').textContent()).toContain('orders');
    await shot(report, '03-report');
    const list = await report.goto(new URL('/admin/reconciliations?format=html', demo!.dashboard).href);
    expect(list!.status()).toBe(200);
    expect(await report.locator('table').count()).toBeGreaterThan(0);
    await report.close();

    // Pause the projection with a reason, then resume it.
    await orders.locator('[data-action=projection-pause]').click();
    await confirm(page, 'e2e: hold the projection');
    await expect.poll(() => orders.locator('[data-field=projection-state]').textContent(), { timeout: 10_000 }).toBe('paused');
    expect(await orders.locator('[data-action=projection-resume]').isEnabled()).toBe(true);
    await orders.locator('[data-action=projection-resume]').click();
    await confirm(page, 'e2e: go on');
    await expect.poll(() => orders.locator('[data-field=projection-state]').textContent(), { timeout: 10_000 }).toBe('running');

    // Move the canary to 10 % with a reason: the stage and the audit list show it.
    await orders.locator('[data-action=set-percent]').click();
    await confirm(page, 'e2e: shadow is clean', 10);
    await expect.poll(() => orders.locator('[data-field=stage]').textContent(), { timeout: 10_000 }).toBe('canary 10 %');
    await expect.poll(() => orders.locator('[data-field=audit]').textContent(), { timeout: 10_000 }).toContain('e2e: shadow is clean');
    expect(await orders.locator('[data-field=audit] li').first().textContent()).toMatch(
      /ops set: shadow → canary 10 % — e2e: shadow is clean/,
    );
    await shot(page, '04-canary-10');

    // Roll back, with a reason.
    await orders.locator('[data-action=rollback]').click();
    await confirm(page, 'e2e: back to shadow');
    await expect.poll(() => orders.locator('[data-field=stage]').textContent(), { timeout: 10_000 }).toBe('shadow');
    await expect
      .poll(() => orders.locator('[data-field=audit] li').first().textContent(), { timeout: 10_000 })
      .toMatch(/ops rollback: canary 10 % → shadow — e2e: back to shadow/);

    // A POST from this very origin, with the cookie but without the CSRF token (what a forged request looks like): 403.
    const forged = await page.evaluate(async () => {
      const res = await fetch('/admin/canary/orders/promote', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'forged' }),
      });
      return { status: res.status, body: (await res.json()) as { title: string } };
    });
    expect(forged).toEqual({ status: 403, body: expect.objectContaining({ title: 'csrf_failed' }) });
    await page.waitForTimeout(2_500); // one more poll: the forged promote changed nothing
    expect(await orders.locator('[data-field=stage]').textContent()).toBe('shadow');

    // Log out: back at the login form, and the cookie no longer opens the API.
    await page.locator('#logout').click();
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.evaluate(async () => (await fetch('/admin/status')).status)).toBe(401);
    expect(consoleErrors.filter((e) => !/401|403/.test(e))).toEqual([]);
    await context.close();
  });

  it('a viewer session shows the entities and no action buttons', async () => {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await logIn(page, demo!.dashboard, VIEWER);
    expect(await page.locator('#who-role').textContent()).toBe('viewer');
    const orders = page.locator('article[data-entity="orders"]');
    await expect.poll(() => orders.locator('[data-field=lag]').textContent(), { timeout: 20_000 }).toMatch(/^\d+ events, \d+ ms$/);
    expect(await page.locator('button.action, [data-action]').count()).toBe(0);
    // Logout is the one button a viewer has.
    expect(await page.locator('main button:visible, dialog button:visible').count()).toBe(0);
    await shot(page, '05-viewer');
    // And the API refuses a viewer's change even with the CSRF token.
    const refused = await page.evaluate(async () => {
      const session = (await (await fetch('/session')).json()) as { csrf: string };
      const res = await fetch('/admin/canary/orders/promote', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
        body: JSON.stringify({ reason: 'viewer' }),
      });
      return res.status;
    });
    expect(refused).toBe(403);
    await context.close();
  });
});
