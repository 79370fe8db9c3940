// Boot of the admin portal: sign-in with a token, choice of tenant, and the
// sections (devices, trusted networks, CSV, audit, settings) for that tenant.
import { api, token, whenUnauthorized } from './api.js';
import { $, el, fieldError, say, sayError } from './dom.js';
import { clearAllowList, loadAllowList, setupAllowList } from './allow-list.js';
import { clearAudit, loadAudit, setupAudit } from './audit.js';
import { clearCsv, setupCsv } from './csv.js';
import { clearDevices, loadDevices, loadSites, setupDevices } from './devices.js';
import { clearLines, setupLines } from './lines.js';
import { fillLocales } from './locales.js';
import { session } from './session.js';
import { clearSettings, loadSettings, setupSettings } from './tenant-settings.js';
import { clearWebhook, loadWebhook, setupWebhook } from './webhooks.js';

const TENANT_KEY = 'papgate.tenant';
const tenantName = (t) => (typeof t === 'string' ? t : t?.name);
const showError = (e) => sayError(e);

function show(id, visible) {
  $(id).hidden = !visible;
}

async function signIn(candidate, { restoring = false } = {}) {
  let who;
  try {
    who = await api.whoami(candidate);
  } catch (e) {
    if (restoring) {
      token.clear();
      return;
    }
    fieldError($('sign-in-error'), $('token'), e.status === 401 ? 'This token was not accepted. Check it and try again.' : e.message);
    $('token').focus();
    return;
  }
  token.set(candidate);
  $('token').value = '';
  fieldError($('sign-in-error'), $('token'), '');
  session.who = who;
  fillLocales($('tenant-locale'), who.locales);
  fillLocales($('site-locale'), who.locales, "the tenant's");
  show('sign-in', false);
  show('session', true);
  if (who.kind === 'tenant') {
    $('session-who').textContent = `Tenant ${tenantName(who.tenant)}`;
    await openTenant(tenantName(who.tenant));
  } else {
    $('session-who').textContent = 'Platform admin';
    show('tenant-picker', true);
    await loadTenants();
    const last = sessionStorage.getItem(TENANT_KEY);
    if (last && [...$('tenant-select').options].some((o) => o.value === last)) await openTenant(last);
    else $('tenant-select').focus();
  }
}

function signOut(message) {
  token.clear();
  sessionStorage.removeItem(TENANT_KEY);
  session.who = null;
  session.tenant = null;
  clearDevices();
  clearAllowList();
  clearCsv();
  clearAudit();
  clearLines();
  clearSettings();
  clearWebhook();
  $('tenant-token').hidden = true;
  $('tenant-token').replaceChildren();
  show('workspace', false);
  show('tenant-picker', false);
  show('session', false);
  show('sign-in', true);
  say(message || 'Signed out.', message ? 'error' : 'info');
  $('token').focus();
}

async function loadTenants(select) {
  const list = await api.tenants();
  const names = list.map(tenantName).sort();
  $('tenant-select').replaceChildren(
    ...(names.length ? names.map((n) => el('option', { value: n }, n)) : [el('option', { value: '' }, 'no tenants yet: create one below')]),
  );
  if (!names.length) $('tenant-create').open = true;
  if (select) $('tenant-select').value = select;
  else if (session.tenant && names.includes(session.tenant)) $('tenant-select').value = session.tenant;
}

async function openTenant(name) {
  session.tenant = name;
  if (session.who?.kind === 'platform') sessionStorage.setItem(TENANT_KEY, name);
  clearDevices();
  clearAllowList();
  clearCsv();
  clearAudit();
  clearLines();
  clearSettings();
  clearWebhook();
  for (const span of document.querySelectorAll('.tenant-name')) span.textContent = name;
  show('workspace', true);
  try {
    await Promise.all([loadSites(), loadDevices(), loadAllowList(), loadAudit(), loadSettings(), loadWebhook()]);
  } catch (e) {
    showError(e);
  }
  $('devices-title').setAttribute('tabindex', '-1');
  $('devices-title').focus();
}

async function createTenant(ev) {
  ev.preventDefault();
  const input = $('tenant-name');
  try {
    const r = await api.createTenant(input.value.trim(), $('tenant-locale').value);
    const name = tenantName(r.tenant);
    fieldError($('tenant-create-error'), input, '');
    input.value = '';
    const box = $('tenant-token');
    box.replaceChildren(
      el('p', {}, `Tenant ${name} created. Its admin token is shown only now; give it to the tenant's admin:`),
      el('p', {}, el('code', { className: 'token' }, r.token)),
      el(
        'button',
        {
          type: 'button',
          className: 'secondary small',
          onclick: () => {
            box.hidden = true;
            box.replaceChildren();
          },
        },
        'I have copied it',
      ),
    );
    box.hidden = false;
    await loadTenants(name);
    say(`Tenant ${name} created.`, 'ok');
  } catch (e) {
    fieldError($('tenant-create-error'), input, e.message);
  }
}

function boot() {
  setupDevices();
  setupAllowList();
  setupCsv();
  setupAudit(showError);
  setupLines();
  setupSettings();
  setupWebhook(showError);
  session.changed = () => {
    // Refreshing the audit list is a side view: the change itself already said how it went.
    loadAudit().catch(() => {});
  };
  whenUnauthorized(() => signOut('The server no longer accepts your token: sign in again.'));

  $('sign-in-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) {
      fieldError($('sign-in-error'), $('token'), 'Enter your admin token.');
      $('token').focus();
      return;
    }
    signIn(t).catch(showError);
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  $('tenant-pick-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if ($('tenant-select').value) openTenant($('tenant-select').value).catch(showError);
  });
  $('tenant-create-form').addEventListener('submit', createTenant);

  const saved = token.get();
  if (saved) signIn(saved, { restoring: true }).catch(showError);
  else $('token').focus();
}

boot();
