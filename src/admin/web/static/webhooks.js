// The tenant's webhook: the URL papgate POSTs device events to, its signing
// secret (shown once, when made or rotated), and the recent deliveries.
import { api } from './api.js';
import { $, el, fieldError, fillRows, formatTime, say, sayError } from './dom.js';
import { formatMac } from './mac.js';
import { session } from './session.js';

let configured = false;

export async function loadWebhook() {
  const tenant = session.tenant;
  let hook = null;
  try {
    hook = await api.webhook(tenant);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const deliveries = hook ? await api.webhookDeliveries(tenant, 20) : [];
  if (tenant !== session.tenant) return;
  configured = hook !== null;
  $('webhook-url').value = hook ? hook.url : '';
  $('webhook-current').textContent = hook ? `Events go to ${hook.url} (changed ${formatTime(hook.updatedAt)}).` : 'No webhook: nothing is sent.';
  $('webhook-rotate').hidden = !configured;
  $('webhook-remove').hidden = !configured;
  fillRows(
    $('webhook-rows'),
    deliveries.map((x) =>
      el(
        'tr',
        { 'data-event': x.id, 'data-status': x.status },
        el('td', {}, formatTime(x.at)),
        el('td', {}, x.event),
        el('td', {}, el('code', {}, formatMac(x.mac))),
        el('td', {}, x.status),
        el('td', {}, String(x.attempts)),
        el('td', {}, x.lastResult ?? ''),
      ),
    ),
    configured ? 'No deliveries yet.' : 'No webhook set.',
    6,
  );
}

/** Shows a secret once, with a button that hides it for good. */
function revealSecret(secret, what) {
  const box = $('webhook-secret');
  box.replaceChildren(
    el('p', {}, `${what} It is shown only now; the receiver checks X-Papgate-Signature with it:`),
    el('p', {}, el('code', { className: 'token' }, secret)),
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
  box.focus();
}

async function save(ev) {
  ev.preventDefault();
  const input = $('webhook-url');
  const url = input.value.trim();
  if (!/^https?:\/\//i.test(url)) {
    fieldError($('webhook-error'), input, 'enter an http:// or https:// URL');
    input.focus();
    return;
  }
  try {
    const r = await api.setWebhook(session.tenant, url);
    fieldError($('webhook-error'), input, '');
    if (r.secret) revealSecret(r.secret, 'Webhook created.');
    say(r.secret ? 'Webhook created.' : 'Webhook URL changed; the secret stays the same.', 'ok');
    session.changed();
    await loadWebhook();
  } catch (e) {
    fieldError($('webhook-error'), input, e.message);
    input.focus();
  }
}

async function rotate() {
  if (!window.confirm('Replace the signing secret? Deliveries are signed with the new one at once: update the receiver.')) return;
  try {
    const r = await api.rotateWebhookSecret(session.tenant);
    revealSecret(r.secret, 'New signing secret.');
    say('Signing secret replaced.', 'ok');
    session.changed();
  } catch (e) {
    sayError(e, 'Could not replace the secret');
  }
}

async function remove() {
  if (!window.confirm('Remove the webhook? Events not yet delivered are dropped.')) return;
  try {
    await api.removeWebhook(session.tenant);
    say('Webhook removed.', 'ok');
    session.changed();
    await loadWebhook();
  } catch (e) {
    sayError(e, 'Could not remove the webhook');
  }
}

export function setupWebhook(onError) {
  $('webhook-form').addEventListener('submit', save);
  $('webhook-rotate').addEventListener('click', rotate);
  $('webhook-remove').addEventListener('click', remove);
  $('webhook-refresh').addEventListener('click', () => loadWebhook().catch(onError));
}

export function clearWebhook() {
  configured = false;
  $('webhook-rows').replaceChildren();
  $('webhook-secret').hidden = true;
  $('webhook-secret').replaceChildren();
  $('webhook-current').textContent = '';
  fieldError($('webhook-error'), $('webhook-url'), '');
}
