import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { LOCALES } from '../../src/domain/types';
import { createTenant, launchBrowser, SCREENSHOT_DIR, signIn, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { addDevice, PLATFORM } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';

const optionValues = (page: Page, select: string) =>
  page.evaluate(`[...document.querySelectorAll('${select} option')].map((o) => o.value)`) as Promise<string[]>;

/** Editing in a real Chromium: a device's SIP lines, a tenant's prompt language, rotating a tenant's token. */
describe('admin portal: editing (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let tenantToken = '';
  const MAC = '001565cc0001';

  before(async function () {
    requireTool(this, 'chromium', 'the portal pages are tested in a real browser');
    server = await startPortalServer();
    browser = await launchBrowser();
    tenantToken = await createTenant(server, 'gamma');
    await addDevice(server, 'gamma', MAC);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const whoami = async (token: string) => (await fetch(`${server.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
  const lines = async () => (await server.services.devices.show(PLATFORM, MAC)).lines;

  it("edits a device's SIP lines; a bad value is named at its field and nothing is saved", async () => {
    const page = await signIn(browser, server.url, tenantToken);
    await page.getByRole('button', { name: 'Edit SIP lines of 00:15:65:cc:00:01' }).click();
    await page.locator('#lines-editor').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Add line' }).click();
    await page.getByLabel('Server of line 1').fill('sip.example.net');
    await page.getByLabel('User of line 1').fill('201');
    await page.getByLabel('Password of line 1').fill('s3cret-201');
    await page.getByRole('button', { name: 'Add line' }).click();
    await page.getByLabel('Server of line 2').fill('sip.example.net:5062');
    await page.getByLabel('User of line 2').fill('202');
    await page.getByLabel('Auth name of line 2').fill('auth-202');
    await page.getByLabel('Display name of line 2').fill('Reception');
    // No password on line 2: the server refuses and the page points at that field.
    await page.getByRole('button', { name: 'Save lines' }).click();
    await page.locator('#lines-error', { hasText: 'lines[1].password' }).waitFor();
    assert.equal(await page.getByLabel('Password of line 2').getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await lines(), []);

    await page.getByLabel('Password of line 2').fill('s3cret-202');
    await page.getByRole('button', { name: 'Save lines' }).click();
    await page.locator('#status', { hasText: 'SIP lines of 00:15:65:cc:00:01 saved (2)' }).waitFor();
    assert.equal(await page.locator('#lines-editor').isVisible(), false);
    assert.deepEqual(await lines(), [
      { server: 'sip.example.net', user: '201', authName: '201', displayName: '' },
      { server: 'sip.example.net:5062', user: '202', authName: 'auth-202', displayName: 'Reception' },
    ]);
    const stored = await server.store.getDevice(MAC);
    assert.deepEqual(
      stored!.lines.map((l) => l.password),
      ['s3cret-201', 's3cret-202'],
    );

    // Reopened: the lines are there, passwords are not; removing one and saving keeps the other.
    await page.getByRole('button', { name: 'Edit SIP lines of 00:15:65:cc:00:01' }).click();
    assert.equal(await page.getByLabel('Server of line 2').inputValue(), 'sip.example.net:5062');
    assert.equal(await page.getByLabel('Password of line 1').inputValue(), '');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'lines.png') });
    await page.getByRole('button', { name: 'Remove line 1' }).click();
    await page.getByLabel('Server of line 1').fill('sip.example.net"');
    await page.getByLabel('Password of line 1').fill('new-202');
    await page.getByRole('button', { name: 'Save lines' }).click();
    await page.locator('#lines-error', { hasText: 'lines[0].server' }).waitFor();
    assert.equal((await lines()).length, 2, 'a refused save changes nothing');
    await page.getByLabel('Server of line 1').fill('sip.example.net');
    await page.getByRole('button', { name: 'Save lines' }).click();
    await page.locator('#status', { hasText: 'saved (1)' }).waitFor();
    assert.deepEqual((await server.store.getDevice(MAC))!.lines, [
      { server: 'sip.example.net', user: '202', authName: 'auth-202', password: 'new-202', displayName: 'Reception' },
    ]);
    // The table reloads after the status shows: wait for the new count rather than read the old row.
    await page.locator(`#device-rows tr[data-mac="${MAC}"] button`, { hasText: 'Lines (1)' }).waitFor();
    await page.close();
  });

  it('opens the lines editor with the lines stored now, not those the table was drawn with', async () => {
    const page = await signIn(browser, server.url, tenantToken);
    const edit = page.getByRole('button', { name: 'Edit SIP lines of 00:15:65:cc:00:01' });
    await edit.waitFor();
    // Another admin changes the lines after this page drew its table: saving the table's copy would undo that.
    await server.services.devices.setLines(PLATFORM, MAC, [
      { server: 'pbx.example.org', user: '301', password: 'pw-301' },
      { server: 'pbx.example.org', user: '302', password: 'pw-302' },
    ]);
    await edit.click();
    await page.locator('#lines-editor').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#lines-rows tr[data-line]').count(), 2);
    assert.equal(await page.getByLabel('User of line 2').inputValue(), '302');
    assert.equal(await page.getByLabel('Password of line 2').inputValue(), '', 'passwords are never sent back');
    await page.close();
  });

  it("changes the tenant's prompt language, offering the server's list of languages", async () => {
    const page = await signIn(browser, server.url, tenantToken);
    const select = page.getByLabel('Language of the voice prompts');
    await select.locator('option').first().waitFor({ state: 'attached' });
    assert.deepEqual(await optionValues(page, '#settings-locale'), [...LOCALES]);
    assert.equal(await select.inputValue(), 'en');
    assert.equal(await page.locator('#token-rotation').isVisible(), false, 'a tenant cannot rotate tokens');
    await select.selectOption('de');
    await page.getByRole('button', { name: 'Save language' }).click();
    await page.locator('#status', { hasText: 'Prompts of gamma are now in German (de)' }).waitFor();
    assert.equal((await server.services.tenants.get(PLATFORM, 'gamma')).locale, 'de');
    await page.reload();
    await page.getByRole('heading', { name: 'Devices of gamma' }).waitFor();
    await page.waitForFunction("document.getElementById('settings-locale')?.value === 'de'");
    await page.close();
  });

  it("rotates a tenant's token only after confirmation, and shows the new one once", async () => {
    const page = await signIn(browser, server.url, server.adminToken);
    await page.getByLabel('Manage tenant').selectOption('gamma');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: 'Settings of gamma' }).waitFor();
    // The creation form's language list comes from the server too.
    assert.deepEqual(await optionValues(page, '#tenant-locale'), [...LOCALES]);

    await page.getByRole('button', { name: 'Rotate admin token…' }).click();
    await page.getByRole('alertdialog').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.getByRole('alertdialog').isVisible(), false);
    assert.equal(await whoami(tenantToken), 200, 'cancelled: the token still works');

    await page.getByRole('button', { name: 'Rotate admin token…' }).click();
    await page.locator('#settings').screenshot({ path: join(SCREENSHOT_DIR, 'token-rotation.png') });
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const shown = page.locator('#token-new .token');
    await shown.waitFor();
    const fresh = (await shown.textContent())!;
    assert.ok(fresh.length >= 16 && fresh !== tenantToken);
    assert.equal(await whoami(tenantToken), 401, 'the old token is refused');
    assert.equal(await whoami(fresh), 200);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.locator('#token-new').isVisible(), false);
    assert.equal(await page.content().then((html) => html.includes(fresh)), false, 'the token is gone from the page');
    tenantToken = fresh;
    await page.close();
  });
});
