import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createTenant, launchBrowser, SCREENSHOT_DIR, signIn, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { addDevice, authenticate, PLATFORM } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';

/** Trusted networks, CSV export and import, and the audit list, in a real Chromium. */
describe('admin portal: trusted networks, CSV and audit (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let page: Page;
  let pap: string;

  const allowForm = () => page.getByRole('region', { name: 'Trusted networks' });
  const permanentRows = () => page.locator('#allow-permanent-rows tr[data-cidr]');
  const cidrs = () => permanentRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cidr')));
  const deviceCount = async () => (await server.services.devices.list(PLATFORM, 'acme')).length;

  before(async function () {
    requireTool(this, 'chromium', 'the portal pages are tested in a real browser');
    server = await startPortalServer();
    browser = await launchBrowser();
    const token = await createTenant(server, 'acme');
    await server.services.tenants.addSite(PLATFORM, 'acme', 'berlin');
    pap = (await addDevice(server, 'acme', '00:15:65:4a:a9:37', 'yealink', 'T46U', 'berlin')).pap!;
    const ok = await addDevice(server, 'acme', '00:04:13:11:22:33', 'snom', 'D785');
    await authenticate(server, ok, '198.51.100.7'); // opens a temporary trust window for that IP
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    page = await signIn(browser, server.url, token);
    await page.getByRole('heading', { name: 'Devices of acme' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function addCidr(text: string) {
    await allowForm().getByLabel('Address or CIDR range').fill(text);
    await allowForm().getByRole('button', { name: 'Add', exact: true }).click();
  }

  it('adds IPv4, IPv6 and CIDR entries, canonicalised by the server', async () => {
    await addCidr('203.0.113.0/24');
    await page.locator('#allow-permanent-rows tr[data-cidr="203.0.113.0/24"]').waitFor();
    await addCidr('2001:DB8::/48');
    await page.locator('#allow-permanent-rows tr[data-cidr="2001:db8::/48"]').waitFor();
    await addCidr('192.0.2.10');
    await page.locator('#allow-permanent-rows tr[data-cidr="192.0.2.10/32"]').waitFor();
    const stored = (await server.services.allowList.list(PLATFORM, 'acme')).permanent.map((e) => e.cidr).sort();
    assert.deepEqual(stored, ['192.0.2.10/32', '2001:db8::/48', '203.0.113.0/24']);
  });

  it('refuses a CIDR with host bits and a nonsense address, saying why', async () => {
    await addCidr('10.0.0.5/24');
    await page.locator('#allow-error', { hasText: 'did you mean 10.0.0.0/24?' }).waitFor();
    assert.equal(await allowForm().getByLabel('Address or CIDR range').getAttribute('aria-invalid'), 'true');
    await addCidr('999.1.1.1');
    await page.locator('#allow-error', { hasText: '"999.1.1.1" is not an IPv4 or IPv6 address' }).waitFor();
    assert.equal((await server.services.allowList.list(PLATFORM, 'acme')).permanent.length, 3, 'nothing added');
    assert.equal((await cidrs()).length, 3);
  });

  it('warns about a very wide range but adds it', async () => {
    await addCidr('10.0.0.0/8');
    await page.locator('#allow-warning', { hasText: 'very wide range' }).waitFor();
    await page.locator('#allow-permanent-rows tr[data-cidr="10.0.0.0/8"]').waitFor();
    assert.equal(await page.locator('#allow-error').textContent(), '');
  });

  it('removes an entry after confirmation', async () => {
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove 10.0.0.0/8' }).click();
    await page.locator('#allow-permanent-rows tr[data-cidr="10.0.0.0/8"]').waitFor({ state: 'detached' });
    assert.ok(!(await server.services.allowList.list(PLATFORM, 'acme')).permanent.some((e) => e.cidr === '10.0.0.0/8'));
  });

  it('lists the temporary windows read-only, with their expiry', async () => {
    const temp = page.locator('#allow-temporary-rows tr[data-ip="198.51.100.7"]');
    await temp.waitFor();
    assert.match((await temp.textContent())!, /\d{4}-\d\d-\d\d \d\d:\d\d \(\d+ h( \d+ min)? left\)/);
    assert.equal(await temp.locator('button').count(), 0, 'no action on a temporary window');
    // Show the refused entry again for the screenshot.
    await addCidr('10.0.0.5/24');
    await page.locator('#allow-error', { hasText: 'host bits' }).waitFor();
    await page.locator('#allow-list').screenshot({ path: join(SCREENSHOT_DIR, 'allow-list.png') });
  });

  it('exports a CSV download with the device row and its PAP', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export devices as CSV' }).click()]);
    assert.equal(download.suggestedFilename(), 'papgate-acme-devices.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text.trim().split('\r\n');
    assert.equal(lines[0], 'vendor,model,mac,created,site,state,pap');
    assert.ok(
      lines.some((l) => l.startsWith('yealink,T46U,0015654aa937,') && l.endsWith(`,berlin,needed,${pap}`)),
      text,
    );
    assert.ok(
      lines.some((l) => l.startsWith('snom,D785,000413112233,') && l.endsWith(',successful,')),
      'no PAP once successful',
    );
  });

  it('lists the bad lines of an import and adds nothing', async () => {
    const before = await deviceCount();
    const csv = 'mac,vendor,model,site\r\n00:15:65:00:00:01,yealink,T46U,berlin\r\n1a2b3c,yealink,T46U,\r\n00:15:65:00:00:03,nokia,X,\r\n';
    await page.getByLabel('CSV file to import').setInputFiles({ name: 'phones.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const errors = page.locator('#csv-errors li');
    await errors.first().waitFor();
    assert.deepEqual(await errors.evaluateAll((li) => li.map((x) => x.getAttribute('data-line'))), ['3', '4']);
    assert.match((await errors.nth(0).textContent())!, /^Line 3 \(mac\): "1a2b3c" is not a MAC address/);
    assert.match((await errors.nth(1).textContent())!, /^Line 4 \(vendor\): vendor must be one of/);
    assert.match((await page.locator('#csv-result').textContent())!, /Nothing was imported/);
    assert.equal(await deviceCount(), before, 'nothing written');
    await page.locator('#csv').screenshot({ path: join(SCREENSHOT_DIR, 'import-errors.png') });
  });

  it('imports a good file and shows the new PAPs', async () => {
    const csv = 'mac,vendor,model,site\n00:15:65:00:00:01,yealink,T46U,berlin\n0004.1300.0002,snom,D735,\n';
    await page.getByLabel('CSV file to import').setInputFiles({ name: 'phones.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('#csv-result', { hasText: 'Imported 2 devices' }).waitFor();
    const paps = await page.locator('#csv-result .pap').allTextContents();
    assert.equal(paps.length, 2);
    for (const p of paps) assert.match(p, /^\d{6}$/);
    await page.locator('#device-rows tr[data-mac="000413000002"]').waitFor();
  });

  it('shows recent audit events: PAP attempts and admin actions', async () => {
    await page.getByRole('button', { name: 'Refresh audit events' }).click();
    const rows = page.locator('#audit-rows tr');
    await rows.filter({ hasText: 'device-import' }).first().waitFor();
    const text = (await page.locator('#audit-rows').textContent())!;
    assert.match(text, /pap-attempt/);
    assert.match(text, /198\.51\.100\.7/);
    assert.match(text, /trust-add/);
    assert.match(text, /tenant-token:acme/);
    assert.doesNotMatch(text, new RegExp(pap), 'never a PAP in the audit');
  });
});
