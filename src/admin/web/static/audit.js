// The tenant's recent audit events: PAP attempts from phones and admin actions.
import { api } from './api.js';
import { $, el, fillRows, formatTime } from './dom.js';
import { formatMac } from './mac.js';
import { session } from './session.js';

export async function loadAudit() {
  const tenant = session.tenant;
  const events = await api.audit(tenant, 50);
  if (tenant !== session.tenant) return;
  fillRows(
    $('audit-rows'),
    events.map((e) =>
      el(
        'tr',
        {},
        el('td', {}, formatTime(e.at)),
        el('td', {}, e.mac ? el('code', {}, formatMac(e.mac)) : ''),
        el('td', {}, e.sourceIp ?? ''),
        el('td', {}, e.actor),
        el('td', {}, e.action),
        el('td', {}, e.outcome),
      ),
    ),
    'No events yet.',
    6,
  );
}

export function setupAudit(onError) {
  $('audit-refresh').addEventListener('click', () => loadAudit().catch(onError));
}

export function clearAudit() {
  $('audit-rows').replaceChildren();
}
