import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTenant, launchBrowser, SCREENSHOT_DIR, signIn, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { addDevice } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';

/** Platform admin and tenant tokens in a real Chromium: who sees which tenant. */
describe('admin portal: tenants (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let tokenA = '';

  before(async function () {
    requireTool(this, 'chromium', 'the portal pages are tested in a real browser');
    server = await startPortalServer();
    browser = await launchBrowser();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lets the platform admin create tenants, shows the token once, and switch between tenants', async () => {
    const page = await signIn(browser, server.url, server.adminToken);
    assert.equal(await page.locator('#session-who').textContent(), 'Platform admin');
    // No tenant yet: the picker says so and the creation form is already open.
    assert.equal(await page.getByLabel('Manage tenant').locator('option').textContent(), 'no tenants yet: create one below');
    assert.equal(await page.locator('#tenant-create').getAttribute('open'), '');
    await page.getByLabel('Name', { exact: true }).fill('alpha');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const shown = page.locator('#tenant-token .token');
    await shown.waitFor();
    tokenA = (await shown.textContent())!;
    assert.ok(tokenA.length >= 16);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.locator('#tenant-token').isVisible(), false);

    await createTenant(server, 'beta');
    await addDevice(server, 'alpha', '00:15:65:aa:00:01');
    await addDevice(server, 'beta', '00:15:65:bb:00:02');
    await page.reload(); // the token survives the reload; the picker lists both tenants
    await page.getByLabel('Manage tenant').waitFor();
    assert.deepEqual(await page.getByLabel('Manage tenant').locator('option').allTextContents(), ['alpha', 'beta']);

    for (const [tenant, mac] of [
      ['alpha', '001565aa0001'],
      ['beta', '001565bb0002'],
    ] as const) {
      await page.getByLabel('Manage tenant').selectOption(tenant);
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByRole('heading', { name: `Devices of ${tenant}` }).waitFor();
      await page.locator(`#device-rows tr[data-mac="${mac}"]`).waitFor();
      assert.equal(await page.locator('#device-rows tr').count(), 1);
    }
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'platform.png') });
    await page.close();
  });

  it("shows a tenant only its own devices; another tenant's device is out of reach", async () => {
    const page = await signIn(browser, server.url, tokenA);
    await page.getByRole('heading', { name: 'Devices of alpha' }).waitFor();
    await page.locator('#device-rows tr[data-mac="001565aa0001"]').waitFor();
    assert.equal(await page.locator('#device-rows tr[data-mac="001565bb0002"]').count(), 0);
    assert.equal(await page.locator('#device-rows tr').count(), 1);
    assert.equal(await page.locator('#tenant-picker').isVisible(), false);

    // Searching for beta's MAC finds nothing, and the API the page uses refuses it with A's token.
    await page.getByLabel('Search MAC').fill('00:15:65:bb:00:02');
    assert.equal(await page.locator('#device-rows tr[data-mac]').count(), 0);
    const status = await page.evaluate(`fetch('/api/v1/devices/001565bb0002', {
      headers: { authorization: 'Bearer ' + sessionStorage.getItem('papgate.token') } }).then((r) => r.status)`);
    assert.equal(status, 404);
    const listing = await page.evaluate(`fetch('/api/v1/tenants/beta/devices', {
      headers: { authorization: 'Bearer ' + sessionStorage.getItem('papgate.token') } }).then((r) => r.status)`);
    assert.equal(listing, 403);
    await page.close();
  });

  it('signs out by itself when the token stops working', async () => {
    const page = await signIn(browser, server.url, tokenA);
    await page.getByRole('heading', { name: 'Devices of alpha' }).waitFor();
    await fetch(`${server.url}/api/v1/tenants/alpha/token`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } });
    await page.getByRole('button', { name: 'Refresh devices' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.locator('#status', { hasText: 'sign in again' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("papgate.token")'), null);
    await page.close();
  });
});
