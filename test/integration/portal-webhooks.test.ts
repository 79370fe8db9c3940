import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { WebhookDispatcher } from '../../src/app/webhook-dispatcher';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { createHttpSender } from '../../src/webhooks/http-sender';
import { createTenant, launchBrowser, SCREENSHOT_DIR, signIn, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { addDevice, failThreeTimes, PLATFORM } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';
import { signatureValid, WebhookReceiver } from '../helpers/webhook-receiver';

/** The webhook section of the tenant page, in a real Chromium, with a real dispatcher and receiver behind it. */
describe('admin portal: webhook (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let page: Page;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher;

  const section = () => page.getByRole('region', { name: 'Webhook' });
  const shownSecret = async () => (await section().locator('#webhook-secret code').textContent())!;

  before(async function () {
    requireTool(this, 'chromium', 'the portal pages are tested in a real browser');
    server = await startPortalServer();
    receiver = await WebhookReceiver.start();
    dispatcher = new WebhookDispatcher(
      {
        store: server.store,
        clock: systemClock,
        random: cryptoRandom,
        log: silentLogger,
        sender: createHttpSender({ connectTimeoutMs: 2000, totalTimeoutMs: 5000, maxResponseBytes: 4096, allowPrivateTargets: true }),
      },
      { backoff: { firstDelayMs: 50, maxDelayMs: 500, maxAttempts: 10, maxAgeMs: 3600_000 }, concurrency: 4, perTenant: 2, pollMs: 50, leaseMs: 30_000 },
    );
    dispatcher.start();
    browser = await launchBrowser();
    const token = await createTenant(server, 'acme');
    page = await signIn(browser, server.url, token);
    await page.getByRole('heading', { name: 'Devices of acme' }).waitFor();
  });

  after(async () => {
    await dispatcher?.stop();
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  it('refuses a URL the server does not take, saying why, and saves nothing', async () => {
    await section().getByLabel('Webhook URL').fill('https://user:pw@hooks.example/x');
    await section().getByRole('button', { name: 'Save URL' }).click();
    await section().locator('#webhook-error', { hasText: 'must not carry a user name or password' }).waitFor();
    assert.equal(await server.store.getWebhook((await server.store.getTenantByName('acme'))!.id), null);
  });

  it('sets the URL and shows the secret once', async () => {
    await section().getByLabel('Webhook URL').fill(receiver.url);
    await section().getByRole('button', { name: 'Save URL' }).click();
    await section().locator('#webhook-secret code').waitFor();
    const secret = await shownSecret();
    const stored = await server.store.getWebhook((await server.store.getTenantByName('acme'))!.id);
    assert.equal(stored!.secret, secret);
    assert.equal(stored!.url, receiver.url);
    await section().getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await section().locator('#webhook-secret').isHidden(), true);
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page');
  });

  it('shows a delivered event after a lock-out, signed with the secret of a rotation', async () => {
    page.once('dialog', (d) => void d.accept());
    await section().getByRole('button', { name: 'Rotate secret' }).click();
    await section().locator('#webhook-secret code').waitFor();
    const secret = await shownSecret();
    assert.match(secret, /^whsec_/);

    const d = await addDevice(server, 'acme', '00:15:65:4a:a9:40');
    await failThreeTimes(server, d);
    await receiver.waitFor(() => receiver.accepted().length === 1);
    assert.ok(signatureValid(secret, receiver.received[0]!.headers['x-papgate-signature'], receiver.received[0]!.body));
    for (let i = 0; i < 50; i++) {
      await section().getByRole('button', { name: 'Refresh deliveries' }).click();
      if ((await section().locator('#webhook-rows tr[data-status="delivered"]').count()) === 1) break;
      await page.waitForTimeout(100);
    }
    const row = section().locator('#webhook-rows tr[data-status="delivered"]');
    assert.match((await row.textContent())!, /device\.failed.*00:15:65:4a:a9:40.*delivered.*HTTP 204/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'webhook.png'), fullPage: true });
  });

  it('removes the webhook after confirmation', async () => {
    page.once('dialog', (dlg) => void dlg.accept());
    await section().getByRole('button', { name: 'Remove webhook' }).click();
    await section().getByText('No webhook: nothing is sent.').waitFor();
    await assert.rejects(server.services.webhooks.show(PLATFORM, 'acme'), /has no webhook/);
  });
});
