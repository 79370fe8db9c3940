// Trusted networks: the permanent allow-list (add/remove, validated by the
// server with the same rules as the CLI) and the temporary windows, read-only.
import { api, serverNow } from './api.js';
import { $, el, fieldError, fillRows, formatTime, say, sayError, timeLeft } from './dom.js';
import { session } from './session.js';

// A quick shape check only, to answer while typing; the server's parser is the judge.
const LOOKS_LIKE = /^[0-9a-f:.]+(\/\d{1,3})?$/i;

export async function loadAllowList() {
  const tenant = session.tenant;
  const { permanent, temporary } = await api.allowList(tenant);
  if (tenant !== session.tenant) return;
  fillRows(
    $('allow-permanent-rows'),
    permanent.map((e) =>
      el(
        'tr',
        { 'data-cidr': e.cidr },
        el('td', {}, el('code', {}, e.cidr)),
        el('td', {}, formatTime(e.createdAt)),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              className: 'small danger',
              'aria-label': `Remove ${e.cidr}`,
              onclick: () => remove(e.cidr),
            },
            'Remove',
          ),
        ),
      ),
    ),
    'No permanent entries.',
    3,
  );
  fillRows(
    $('allow-temporary-rows'),
    temporary.map((t) =>
      el('tr', { 'data-ip': t.ip }, el('td', {}, el('code', {}, t.ip)), el('td', {}, `${formatTime(t.until)} (${timeLeft(t.until, serverNow())})`)),
    ),
    'No temporary windows open.',
    2,
  );
}

async function add(ev) {
  ev.preventDefault();
  const input = $('allow-cidr');
  const text = input.value.trim();
  $('allow-warning').textContent = '';
  if (!text) {
    fieldError($('allow-error'), input, 'enter an IPv4 or IPv6 address, or a CIDR range such as 203.0.113.0/24');
    input.focus();
    return;
  }
  try {
    const r = await api.addAllow(session.tenant, text);
    fieldError($('allow-error'), input, '');
    input.value = '';
    if (r.warning) $('allow-warning').textContent = `Added, but note: ${r.warning}`;
    say(`${r.entry.cidr} added to the trusted networks.`, 'ok');
    session.changed();
    await loadAllowList();
  } catch (e) {
    fieldError($('allow-error'), input, e.message);
    input.focus();
  }
}

async function remove(cidr) {
  if (!window.confirm(`Remove ${cidr} from the trusted networks? Phones there will need their PAP again.`)) return;
  try {
    await api.removeAllow(session.tenant, cidr);
    say(`${cidr} removed from the trusted networks.`, 'ok');
    session.changed();
    await loadAllowList();
  } catch (e) {
    sayError(e, `Could not remove ${cidr}`);
  }
}

export function setupAllowList() {
  $('allow-add-form').addEventListener('submit', add);
  $('allow-cidr').addEventListener('input', () => {
    const input = $('allow-cidr');
    const text = input.value.trim();
    fieldError(
      $('allow-error'),
      input,
      text && !LOOKS_LIKE.test(text) ? 'only digits, a-f, ":", "." and one "/prefix" belong in an address or CIDR range' : '',
    );
  });
}

export function clearAllowList() {
  $('allow-permanent-rows').replaceChildren();
  $('allow-temporary-rows').replaceChildren();
  fieldError($('allow-error'), $('allow-cidr'), '');
  $('allow-warning').textContent = '';
}
