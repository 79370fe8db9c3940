import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { MAC_HELP, parseMac } from '../../src/domain/mac';
import { createTenant, launchBrowser, SCREENSHOT_DIR, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { addDevice, authenticate, block, failThreeTimes, PLATFORM } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';

/** The devices screen in a real Chromium: sign in, add, PAP, suspend, reset, search. */
describe('admin portal: devices (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let token: string;
  let page: Page;

  const row = (mac: string) => page.locator(`#device-rows tr[data-mac="${mac}"]`);
  /** Script errors and CSP violations of every tab, checked by the last test. */
  const problems: string[] = [];
  const watch = (p: Page) => {
    p.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
  };
  const addForm = () => page.getByRole('form', { name: 'Add a device' });
  const filters = () => page.getByRole('search', { name: 'Filter devices' });
  const listMacs = async () => (await server.services.devices.list(PLATFORM, 'acme')).map((d) => d.mac);

  before(async function () {
    requireTool(this, 'chromium', 'the portal pages are tested in a real browser');
    server = await startPortalServer();
    browser = await launchBrowser();
    token = await createTenant(server, 'acme');
    await server.services.tenants.addSite(PLATFORM, 'acme', 'berlin');
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('refuses a wrong token and signs in with the tenant token', async () => {
    page = await browser.context.newPage();
    watch(page);
    await page.goto(server.url);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sign-in.png') });
    await page.getByLabel('Admin token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was not accepted').waitFor();

    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Devices of acme' }).waitFor();
    assert.equal(await page.locator('#session-who').textContent(), 'Tenant acme');
    // A tenant token goes straight to its tenant: no picker.
    assert.equal(await page.locator('#tenant-picker').isVisible(), false);
  });

  it("checks the MAC as it is typed, with the server's help text, and refuses to add a bad one", async () => {
    const mac = page.getByLabel('MAC address');
    await mac.fill('1a2b3c4d5e');
    await page.locator('#add-mac-error').getByText(MAC_HELP).waitFor();
    assert.equal(await mac.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#add-submit').getAttribute('aria-disabled'), 'true');

    await mac.fill('01:00:5e:00:00:01');
    assert.equal(await page.locator('#add-mac-error').textContent(), "01:00:5e:00:00:01 is a multicast address, not a device's MAC");
    await page.getByLabel('Model').fill('T46U');
    // Playwright, like assistive technology, sees the button as disabled: try both the keyboard and a forced click.
    await mac.press('Enter');
    await page.getByRole('button', { name: 'Add device' }).click({ force: true });
    assert.deepEqual(await listMacs(), [], 'nothing was added');
    assert.equal(await page.locator('#add-mac-error').textContent(), "01:00:5e:00:00:01 is a multicast address, not a device's MAC");

    await mac.fill('1A-2B-3C-4D-5E-6F');
    assert.equal(await page.locator('#add-mac-error').textContent(), '');
    assert.equal(await page.locator('#add-submit').getAttribute('aria-disabled'), 'false');
  });

  it('adds a device and shows its 6-digit PAP, in the panel and in the table', async () => {
    await page.getByLabel('Vendor').selectOption('yealink');
    await page.getByLabel('Model').fill('T46U');
    await addForm().getByLabel('Site').selectOption('berlin');
    await page.getByRole('button', { name: 'Add device' }).click();
    const pap = (await page.locator('#new-pap .pap').textContent())!;
    assert.match(pap, /^\d{6}$/);
    await row('1a2b3c4d5e6f').waitFor();
    assert.equal(await row('1a2b3c4d5e6f').locator('.pap').textContent(), pap);
    assert.equal(await row('1a2b3c4d5e6f').locator('.badge').first().textContent(), 'needed');
    const stored = await server.services.devices.show(PLATFORM, '1a2b3c4d5e6f');
    assert.equal(stored.pap, pap);
    assert.equal(stored.site, 'berlin');
  });

  it('suspends authentication and shows the time left', async () => {
    await page.getByRole('button', { name: 'Suspend authentication of 1a:2b:3c:4d:5e:6f' }).click();
    await row('1a2b3c4d5e6f').locator('.badge-suspended').waitFor();
    const text = (await row('1a2b3c4d5e6f').locator('td.state').textContent())!;
    assert.match(text, /suspended\s*\d+ min left/);
    await page.locator('#status', { hasText: /suspended.*\d+ min left/ }).waitFor();
    assert.ok((await server.services.devices.show(PLATFORM, '1a2b3c4d5e6f')).suspendedUntil);
  });

  it('resets authentication only after confirmation, and shows a new PAP', async () => {
    const before = (await server.services.devices.show(PLATFORM, '1a2b3c4d5e6f')).pap!;
    const reset = page.getByRole('button', { name: 'Reset authentication of 1a:2b:3c:4d:5e:6f' });

    page.once('dialog', (d) => void d.dismiss());
    await reset.click();
    assert.equal((await server.services.devices.show(PLATFORM, '1a2b3c4d5e6f')).pap, before, 'cancel changes nothing');

    let question = '';
    page.once('dialog', (d) => {
      question = d.message();
      void d.accept();
    });
    await reset.click();
    await page.locator('#new-pap').getByText('was reset').waitFor();
    const pap = (await page.locator('#new-pap .pap').textContent())!;
    assert.match(question, /Reset authentication of 1a:2b:3c:4d:5e:6f/);
    assert.match(pap, /^\d{6}$/);
    assert.notEqual(pap, before);
    assert.equal((await server.services.devices.show(PLATFORM, '1a2b3c4d5e6f')).pap, pap);
    await row('1a2b3c4d5e6f').locator('.pap', { hasText: pap }).waitFor();
  });

  it('shows every state as a badge with words, filters by state and site, searches by MAC in any format', async () => {
    const failed = await addDevice(server, 'acme', '00:15:65:4a:a9:37', 'yealink', 'T54W', 'berlin');
    const blocked = await addDevice(server, 'acme', '0004.f2aa.bb01', 'poly', 'VVX 450');
    const ok = await addDevice(server, 'acme', '00-0E-08-12-34-56', 'cisco', 'SPA112');
    const suspended = await addDevice(server, 'acme', '000413aabbcc', 'snom', 'D785', 'berlin');
    await server.services.devices.suspend(PLATFORM, suspended.mac);
    await failThreeTimes(server, failed);
    await block(server, blocked);
    await authenticate(server, ok, '203.0.113.50');
    await page.getByRole('button', { name: 'Refresh devices' }).click();
    await row(ok.mac).locator('.badge-successful').waitFor();

    assert.equal(await row(failed.mac).locator('.badge').first().textContent(), 'failed');
    assert.match((await row(failed.mac).locator('td.state').textContent())!, /failed\s*\d+ min left/);
    assert.match((await row(blocked.mac).locator('td.state').textContent())!, /blocked\s*reset needed/);
    assert.equal(await row(ok.mac).locator('.pap').count(), 0, 'no PAP once successful');
    assert.match((await row(ok.mac).textContent())!, /203\.0\.113\.50/);
    await page.locator('#devices').screenshot({ path: join(SCREENSHOT_DIR, 'devices.png') });

    await page.getByLabel('State').selectOption('failed');
    await page.locator('#device-count', { hasText: /^1 device$/ }).waitFor();
    assert.equal(await page.locator('#device-rows tr').getAttribute('data-mac'), failed.mac);
    await page.getByLabel('State').selectOption('');
    await filters().getByLabel('Site').selectOption('berlin');
    await page.locator('#device-count', { hasText: /^3 devices$/ }).waitFor();
    await filters().getByLabel('Site').selectOption('');
    await page.locator('#device-count', { hasText: /^5 devices$/ }).waitFor();

    for (const spelling of ['00:15:65:4A:A9:37', '0015.654a.a937', '00-15-65-4a-a9-37', '0015654aa937']) {
      await page.getByLabel('Search MAC').fill(spelling);
      assert.deepEqual(await page.locator('#device-rows tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-mac'))), [failed.mac], spelling);
    }
    await page.getByLabel('Search MAC').fill('zz');
    await page.locator('#filter-mac-hint').getByText(MAC_HELP).waitFor();
    await page.getByLabel('Search MAC').fill('');
    assert.equal(await page.locator('#device-rows tr').count(), 5);
  });

  it('accepts and rejects exactly the MACs the server does, with the same words', async () => {
    const cases = [
      '1a2b3c4d5e6f',
      '1a:2b:3c:4d:5e:6f',
      '1A-2B-3C-4D-5E-6F',
      '1a2b.3c4d.5e6f',
      '  001565AABBCC ',
      '1a2b3c4d5e',
      '1a:2b:3c-4d:5e:6f',
      '1a2b3c4d5e6g',
      '1a2b:3c4d:5e6f',
      '1a2b3c4d5e6f0',
      '00:00:00:00:00:00',
      'ff-ff-ff-ff-ff-ff',
      '01005e000001',
      '03:00:00:00:00:01',
      'x'.repeat(40),
    ];
    const inPage = (await page.evaluate(`(async () => {
      const m = await import('/static/mac.js');
      return { help: m.MAC_HELP, empty: m.checkMac(''), results: ${JSON.stringify(cases)}.map((c) => m.checkMac(c)) };
    })()`)) as { help: string; empty: { error?: string }; results: { mac?: string; error?: string }[] };
    assert.equal(inPage.help, MAC_HELP);
    // Empty is the one case worded differently: the field is missing rather than wrong.
    assert.equal(inPage.empty.error, `mac is missing: ${MAC_HELP}`);
    cases.forEach((c, i) => {
      let expected: { mac?: string; error?: string };
      try {
        expected = { mac: parseMac(c) };
      } catch (e) {
        expected = { error: (e as Error).message };
      }
      assert.deepEqual(inPage.results[i], expected, JSON.stringify(c));
    });
  });

  it('keeps the token in sessionStorage only, survives a reload, and signs out', async () => {
    assert.equal(await page.evaluate('sessionStorage.getItem("papgate.token")'), token);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    await page.reload();
    await page.getByRole('heading', { name: 'Devices of acme' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("papgate.token")'), null);
    assert.equal(await page.locator('#device-rows tr').count(), 0, 'no device left on the page');
    await page.close();
  });

  it('starts signed out in a fresh tab, and works with the keyboard alone', async () => {
    const tab = await browser.context.newPage();
    watch(tab);
    await tab.goto(server.url);
    await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await tab.locator('#workspace').isVisible(), false);
    const focused = () => tab.evaluate('document.activeElement && document.activeElement.id');

    assert.equal(await focused(), 'token', 'the token field has the focus');
    await tab.keyboard.type(token);
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: 'Devices of acme' }).waitFor();
    // The heading shows at once; the focus moves once the tenant's lists have loaded.
    await tab.waitForFunction("document.activeElement && document.activeElement.id === 'devices-title'", undefined, { timeout: 10_000 }).catch(() => undefined);
    assert.equal(await focused(), 'devices-title', 'the focus moves to the devices');
    await tab.keyboard.press('Tab');
    assert.equal(await focused(), 'add-mac');
    await tab.keyboard.type('00:15:65:12:34:56');
    await tab.keyboard.press('Tab');
    assert.equal(await focused(), 'add-vendor');
    await tab.keyboard.press('Tab');
    await tab.keyboard.type('T33G');
    await tab.keyboard.press('Enter');
    await tab.locator('#new-pap .pap').waitFor();
    assert.equal(await focused(), 'new-pap', 'the new PAP gets the focus');
    assert.match((await tab.locator('#new-pap .pap').textContent())!, /^\d{6}$/);
    await tab.close();
  });

  it('broke no Content-Security-Policy rule and threw no script error', () => {
    assert.deepEqual(problems, []);
  });
});
