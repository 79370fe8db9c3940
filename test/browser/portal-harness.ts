import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServices, type AdminServices } from '../../src/app/services';
import { createAdminServer } from '../../src/admin/rest/server';
import { portalPlugin } from '../../src/admin/web/portal';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { Metrics } from '../../src/observability/metrics';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';

/**
 * A real admin server (REST API + portal) over a real SQLite file on
 * 127.0.0.1, and a real headless Chromium (Debian's) to drive the page.
 */

export interface PortalServer {
  url: string;
  adminToken: string;
  services: AdminServices;
  store: SqliteStore;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startPortalServer(): Promise<PortalServer> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-portal-'));
  const store = await openSqliteStore(join(dir, 'papgate.db'));
  const services = createServices({ store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger });
  const adminToken = randomBytes(24).toString('base64url');
  const app = createAdminServer({
    services,
    metrics: new Metrics({ defaultMetrics: false }),
    log: silentLogger,
    adminToken,
    extraRoutes: (a) => {
      a.register(portalPlugin);
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the admin server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    adminToken,
    services,
    store,
    app,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's chromium with a fresh profile; never a downloaded browser. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'papgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  // Bounded waits everywhere: a broken page fails the test instead of hanging it.
  context.setDefaultTimeout(10_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the portal in a new tab and signs in with `token`. */
export async function signIn(browser: Browser, url: string, token: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#session').waitFor({ state: 'visible' });
  return page;
}

/** Creates a tenant through the platform admin's API, as an operator would with curl. */
export async function createTenant(server: PortalServer, name: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating tenant ${name}: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * Screenshots are taken on every run (so the screens are exercised) but only
 * overwrite the committed ones under docs/ when PAPGATE_SCREENSHOTS=1.
 */
export const SCREENSHOT_DIR =
  process.env.PAPGATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'papgate-screens-'));
