// CSV export (a download made from the API's answer, so the token never sits
// in a URL) and batch import, whose line errors are listed before anything is written.
import { api } from './api.js';
import { $, el, say, sayError } from './dom.js';
import { formatMac } from './mac.js';
import { session } from './session.js';
import { loadDevices } from './devices.js';

async function exportCsv() {
  try {
    const text = await api.exportCsv(session.tenant);
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `papgate-${session.tenant}-devices.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say('CSV export downloaded.', 'ok');
  } catch (e) {
    sayError(e, `Could not export`);
  }
}

async function importCsv(ev) {
  ev.preventDefault();
  const out = $('csv-result');
  const file = $('csv-file').files[0];
  if (!file) {
    out.replaceChildren(el('p', { className: 'error' }, 'Choose a CSV file first.'));
    $('csv-file').focus();
    return;
  }
  try {
    const r = await api.importCsv(session.tenant, await file.text());
    const list = r.devices ?? [];
    out.replaceChildren(
      el('p', { className: 'ok' }, `Imported ${r.imported ?? list.length} device${(r.imported ?? list.length) === 1 ? '' : 's'}. Their PAPs:`),
      el(
        'table',
        { className: 'compact' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'MAC'), el('th', { scope: 'col' }, 'PAP'))),
        el(
          'tbody',
          {},
          list.map((d) => el('tr', {}, el('td', {}, el('code', {}, formatMac(d.mac))), el('td', {}, el('code', { className: 'pap' }, d.pap ?? '')))),
        ),
      ),
    );
    $('csv-file').value = '';
    session.changed();
    await loadDevices();
  } catch (e) {
    if (e.errors.length) {
      out.replaceChildren(
        el('p', { className: 'error' }, `Nothing was imported: ${e.errors.length} line${e.errors.length === 1 ? ' is' : 's are'} wrong.`),
        el(
          'ul',
          { id: 'csv-errors', className: 'errors' },
          e.errors.map((x) => el('li', { 'data-line': x.line }, el('strong', {}, `Line ${x.line}`), x.field ? ` (${x.field})` : '', `: ${x.message}`)),
        ),
      );
    } else {
      out.replaceChildren(el('p', { className: 'error' }, `Nothing was imported: ${e.message}`));
    }
  }
}

export function setupCsv() {
  $('csv-export').addEventListener('click', exportCsv);
  $('csv-import-form').addEventListener('submit', importCsv);
}

export function clearCsv() {
  $('csv-result').replaceChildren();
  $('csv-file').value = '';
}
