// Devices: the table with state badges, filters and MAC search, adding a
// device (MAC checked as it is typed), SIP lines, suspend, reset and delete.
import { api, serverNow } from './api.js';
import { $, el, fieldError, fillRows, formatTime, say, sayError, timeLeft, toDate } from './dom.js';
import { editLines } from './lines.js';
import { checkMac, formatMac, MAC_HELP, macSearchKey } from './mac.js';
import { session } from './session.js';

const COLUMNS = 9;

let devices = [];
let loading = null;

export async function loadDevices() {
  const filter = { state: $('filter-state').value, site: $('filter-site').value };
  const tenant = session.tenant;
  const run = api.devices(tenant, filter).then((list) => {
    if (tenant !== session.tenant || loading !== run) return; // a newer load or another tenant won
    // Newest first; MAC breaks ties so the order never jumps between refreshes.
    devices = list.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)) || a.mac.localeCompare(b.mac));
    render();
  });
  loading = run;
  return run;
}

export async function loadSites() {
  const sites = await api.sites(session.tenant);
  const names = sites.map((s) => s.name).sort();
  fillSelect($('add-site'), names, '(none)');
  fillSelect($('filter-site'), names, 'all');
}

function fillSelect(select, names, emptyLabel) {
  const keep = select.value;
  select.replaceChildren(el('option', { value: '' }, emptyLabel), ...names.map((n) => el('option', { value: n }, n)));
  select.value = names.includes(keep) ? keep : '';
}

function render() {
  const key = macSearchKey($('filter-mac').value);
  const searching = key !== '';
  const shown = key === null ? [] : key ? devices.filter((d) => d.mac.includes(key)) : devices;
  fillRows($('device-rows'), shown.map(row), devices.length ? 'No device matches the search.' : 'No devices yet.', COLUMNS);
  const total = `${devices.length} device${devices.length === 1 ? '' : 's'}`;
  $('device-count').textContent = searching ? `${shown.length} of ${total} match "${$('filter-mac').value.trim()}"` : total;
}

function row(d) {
  const label = formatMac(d.mac);
  return el(
    'tr',
    { 'data-mac': d.mac, 'data-state': d.state },
    el('td', {}, d.vendor),
    el('td', {}, d.model),
    el('td', {}, el('code', { className: 'mac' }, label)),
    el('td', {}, d.site ?? ''),
    el('td', {}, el('time', { dateTime: toDate(d.createdAt)?.toISOString(), title: formatTime(d.createdAt) }, formatTime(d.createdAt).slice(0, 10))),
    el('td', { className: 'state' }, stateCell(d)),
    el('td', {}, d.pap ? el('code', { className: 'pap' }, d.pap) : el('span', { className: 'muted', title: 'authenticated: the PAP is gone' }, '—')),
    el(
      'td',
      {},
      d.lastProvisionedIp
        ? [el('code', {}, d.lastProvisionedIp), el('br'), el('span', { className: 'muted' }, formatTime(d.lastProvisionedAt))]
        : el('span', { className: 'muted' }, 'never'),
    ),
    el(
      'td',
      { className: 'actions' },
      el(
        'button',
        { type: 'button', className: 'small', 'aria-label': `Edit SIP lines of ${label}`, onclick: () => openLines(d) },
        `Lines (${d.lines?.length ?? 0})`,
      ),
      el('button', { type: 'button', className: 'small', 'aria-label': `Suspend authentication of ${label}`, onclick: () => suspend(d) }, 'Suspend'),
      el('button', { type: 'button', className: 'small', 'aria-label': `Reset authentication of ${label}`, onclick: () => reset(d) }, 'Reset'),
      el('button', { type: 'button', className: 'small danger', 'aria-label': `Delete ${label}`, onclick: () => remove(d) }, 'Delete'),
    ),
  );
}

/** The coloured badge always carries its state as text; deadlines count down beside it. */
function stateCell(d) {
  const parts = [el('span', { className: `badge badge-${d.state}` }, d.state)];
  if (d.state === 'failed' && d.lockedUntil) parts.push(' ', countdown(d.lockedUntil));
  if (d.state === 'blocked') parts.push(' ', el('span', { className: 'muted' }, 'reset needed'));
  if (d.suspendedUntil) {
    parts.push(el('br'), el('span', { className: 'badge badge-suspended' }, 'suspended'), ' ', countdown(d.suspendedUntil));
  }
  return parts;
}

function countdown(until) {
  return el('span', { className: 'left', 'data-until': toDate(until)?.toISOString() }, timeLeft(until, serverNow()));
}

/** Keeps "time left" current; reloads once a deadline passes, since the server's state changed with it. */
export function tickCountdowns() {
  let ended = false;
  for (const span of document.querySelectorAll('#device-rows [data-until]')) {
    const text = timeLeft(span.dataset.until, serverNow());
    if (text === 'ended') ended = true;
    span.textContent = text;
  }
  // A failed reload is tried again at the next tick: the ended rows are still there.
  if (ended && session.tenant) loadDevices().catch(() => {});
}

function openLines(d) {
  editLines(d.mac, () => loadDevices()).catch((e) => sayError(e, `Could not open the lines of ${formatMac(d.mac)}`));
}

async function suspend(d) {
  const label = formatMac(d.mac);
  try {
    const v = await api.suspendDevice(d.mac);
    say(`Authentication of ${label} suspended: it needs no PAP for now (${timeLeft(v.suspendedUntil, serverNow())}).`, 'ok');
    session.changed();
    await loadDevices();
  } catch (e) {
    sayError(e, `Could not suspend ${label}`);
  }
}

async function reset(d) {
  const label = formatMac(d.mac);
  const ok = window.confirm(
    `Reset authentication of ${label}?\n\nIt gets a new PAP, must authenticate again, and the identity secret on the phone stops working.`,
  );
  if (!ok) return;
  try {
    const v = await api.resetDevice(d.mac);
    showPap(`Authentication of ${label} was reset. Its new PAP is`, v.pap);
    say(`Authentication of ${label} reset; new PAP shown above the table.`, 'ok');
    session.changed();
    await loadDevices();
  } catch (e) {
    sayError(e, `Could not reset ${label}`);
  }
}

async function remove(d) {
  const label = formatMac(d.mac);
  if (!window.confirm(`Delete the device ${label}? The phone will get no configuration at all.`)) return;
  try {
    await api.deleteDevice(d.mac);
    say(`Device ${label} deleted.`, 'ok');
    session.changed();
    await loadDevices();
  } catch (e) {
    sayError(e, `Could not delete ${label}`);
  }
}

function showPap(text, pap) {
  const box = $('new-pap');
  box.replaceChildren(
    el('p', {}, text, ' ', el('strong', { className: 'pap pap-big' }, pap)),
    el(
      'p',
      { className: 'note' },
      'Read it to the person installing the phone: they type it on the keypad after dialling any number. It is also shown in the table until the phone is authenticated.',
    ),
    el(
      'button',
      {
        type: 'button',
        className: 'secondary small',
        onclick: () => {
          box.hidden = true;
        },
      },
      'Hide',
    ),
  );
  box.hidden = false;
  box.focus();
}

/** Live MAC check: the same rule and words as the server (section 2 of docs/behaviour.md). */
function checkMacInput({ submitting = false } = {}) {
  const input = $('add-mac');
  const text = input.value.trim();
  const r = checkMac(text);
  const show = r.error && (submitting || text !== '');
  fieldError($('add-mac-error'), input, show ? r.error : '');
  $('add-submit').setAttribute('aria-disabled', r.error && text !== '' ? 'true' : 'false');
  return r;
}

async function addDevice(ev) {
  ev.preventDefault();
  fieldError($('add-error'), null, '');
  const mac = checkMacInput({ submitting: true });
  if (mac.error) {
    $('add-mac').focus();
    return;
  }
  const model = $('add-model');
  if (!model.value.trim()) {
    fieldError($('add-error'), model, 'model is missing (e.g. T46U)');
    model.focus();
    return;
  }
  fieldError($('add-error'), model, '');
  const device = { mac: mac.mac, vendor: $('add-vendor').value, model: model.value.trim() };
  if ($('add-site').value) device.site = $('add-site').value;
  try {
    const v = await api.addDevice(session.tenant, device);
    $('add-mac').value = '';
    model.value = '';
    checkMacInput();
    showPap(`Device ${formatMac(v.mac)} added. Its PAP is`, v.pap);
    say(`Device ${formatMac(v.mac)} added; its PAP is shown above the table.`, 'ok');
    session.changed();
    await loadDevices();
  } catch (e) {
    if (e.field === 'mac') fieldError($('add-mac-error'), $('add-mac'), e.message);
    else fieldError($('add-error'), e.field === 'model' ? model : null, e.message);
  }
}

async function addSite(ev) {
  ev.preventDefault();
  const input = $('site-name');
  const numbers = $('site-emergency');
  const more = {
    locale: $('site-locale').value || undefined,
    emergencyNumbers: numbers.value
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
  };
  try {
    const site = await api.addSite(session.tenant, input.value.trim(), more);
    fieldError($('site-add-error'), input, '');
    fieldError($('site-add-error'), numbers, '');
    input.value = '';
    numbers.value = '';
    $('site-locale').value = '';
    const extra = site.emergencyNumbers.length ? ` with emergency numbers ${site.emergencyNumbers.join(', ')}` : '';
    say(`Site ${site.name} added${extra}.`, 'ok');
    await loadSites();
  } catch (e) {
    for (const i of [input, numbers]) i.removeAttribute('aria-invalid');
    fieldError($('site-add-error'), /^emergencyNumbers\b/.test(e.field ?? '') ? numbers : input, e.message);
  }
}

function searchChanged() {
  const text = $('filter-mac').value;
  $('filter-mac-hint').textContent = macSearchKey(text) === null ? `Search by hex digits, with or without separators: ${MAC_HELP}` : '';
  render();
}

export function setupDevices() {
  $('add-mac').addEventListener('input', () => checkMacInput());
  $('device-add-form').addEventListener('submit', addDevice);
  $('site-add-form').addEventListener('submit', addSite);
  $('filter-state').addEventListener('change', () => loadDevices().catch((e) => sayError(e)));
  $('filter-site').addEventListener('change', () => loadDevices().catch((e) => sayError(e)));
  $('filter-mac').addEventListener('input', searchChanged);
  $('devices-refresh').addEventListener('click', () => loadDevices().catch((e) => sayError(e)));
  setInterval(tickCountdowns, 15000);
}

/** Forget the previous tenant's devices (sign-out, tenant switch). */
export function clearDevices() {
  devices = [];
  $('new-pap').hidden = true;
  $('device-rows').replaceChildren();
  $('filter-mac').value = '';
  $('filter-state').value = '';
  $('filter-site').value = '';
  for (const id of ['add-mac-error', 'add-error', 'site-add-error', 'filter-mac-hint']) $(id).textContent = '';
  $('add-mac').removeAttribute('aria-invalid');
}
