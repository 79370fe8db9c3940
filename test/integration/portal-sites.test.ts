import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { LOCALES } from '../../src/domain/types';
import { launchBrowser, SCREENSHOT_DIR, signIn, startPortalServer, type Browser, type PortalServer } from '../browser/portal-harness';
import { PLATFORM } from '../browser/portal-seed';
import { requireTool } from '../helpers/required-tools';

/** Prompt languages (from the server's list) and a site's emergency numbers, in a real Chromium. */
describe('admin portal: languages and sites (browser)', function () {
  this.timeout(60_000);
  let server: PortalServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

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

  it('offers every language the server ships when creating a tenant, and creates it in the one chosen', async () => {
    page = await signIn(browser, server.url, server.adminToken);
    page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    const values = await optionValues(page, '#tenant-locale');
    assert.deepEqual(values, [...LOCALES]);
    assert.ok((await page.locator('#tenant-locale option').allTextContents()).includes('Polish (pl)'));
    await page.getByLabel('Name', { exact: true }).fill('acme');
    await page.locator('#tenant-locale').selectOption('pl');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.locator('#tenant-token .token').waitFor();
    assert.equal((await server.services.tenants.get(PLATFORM, 'acme')).locale, 'pl');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByLabel('Manage tenant').selectOption('acme');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: 'Devices of acme' }).waitFor();
  });

  it('adds a site with its language and extra emergency numbers; refuses bad numbers and adds nothing', async () => {
    await page.locator('#site-add summary').click();
    const siteLocales = await optionValues(page, '#site-locale');
    assert.deepEqual(siteLocales, ['', ...LOCALES], "the tenant's language first, then every shipped one");

    await page.getByLabel('Site name').fill('lyon');
    await page.getByLabel('Extra emergency numbers').fill('15, 17a');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.locator('#site-add-error').getByText('17a').waitFor();
    assert.equal(await page.getByLabel('Extra emergency numbers').getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await server.services.tenants.listSites(PLATFORM, 'acme'), [], 'nothing was added');

    await page.getByLabel('Extra emergency numbers').fill(' 15, 17 ,18, ');
    await page.locator('#site-locale').selectOption('fr');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.getByText('Site lyon added with emergency numbers 15, 17, 18.').waitFor();
    const [site] = await server.services.tenants.listSites(PLATFORM, 'acme');
    assert.deepEqual({ name: site?.name, locale: site?.locale, numbers: site?.emergencyNumbers }, { name: 'lyon', locale: 'fr', numbers: ['15', '17', '18'] });
    assert.equal(await page.getByLabel('Extra emergency numbers').getAttribute('aria-invalid'), null);
    assert.equal(await page.getByLabel('Extra emergency numbers').inputValue(), '');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'site-add.png') });

    await page.getByLabel('Site name').fill('berlin');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.getByText('Site berlin added.').waitFor();
    const berlin = (await server.services.tenants.listSites(PLATFORM, 'acme')).find((s) => s.name === 'berlin');
    assert.deepEqual({ locale: berlin?.locale, numbers: berlin?.emergencyNumbers }, { locale: null, numbers: [] });
    assert.deepEqual(problems, []);
  });
});

/** The values of a <select>'s options, in order. */
async function optionValues(page: Page, select: string): Promise<(string | null)[]> {
  const options = page.locator(`${select} option`);
  const values: (string | null)[] = [];
  for (let i = 0; i < (await options.count()); i++) values.push(await options.nth(i).getAttribute('value'));
  return values;
}
