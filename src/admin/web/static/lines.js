// Editing a device's SIP lines (the accounts of its full configuration).
// Line passwords are never sent back by the server, so saving asks for each
// line's password again; the server checks every value and names the field.
import { api } from './api.js';
import { loadContract } from './contract.js';
import { $, el, fieldError, say } from './dom.js';
import { formatMac } from './mac.js';
import { session } from './session.js';

const FIELDS = [
  { key: 'server', label: 'Server', placeholder: 'sip.example.net' },
  { key: 'user', label: 'User', placeholder: '201' },
  { key: 'authName', label: 'Auth name', placeholder: 'same as user' },
  { key: 'password', label: 'Password', placeholder: 'type it again' },
  { key: 'displayName', label: 'Display name', placeholder: 'optional' },
];

let editing = null; // { mac, onSaved }
let maxLines = 16;

function lineRow(line, i) {
  const cells = FIELDS.map((f) =>
    el(
      'td',
      {},
      el('input', {
        type: f.key === 'password' ? 'password' : 'text',
        // Re-rendered rows keep what was typed; the server never sends a password, so saved lines start empty.
        value: line[f.key] ?? '',
        placeholder: f.placeholder,
        autocomplete: f.key === 'password' ? 'new-password' : 'off',
        spellcheck: false,
        'data-field': f.key,
        'aria-label': `${f.label} of line ${i + 1}`,
      }),
    ),
  );
  return el(
    'tr',
    { 'data-line': String(i) },
    el('th', { scope: 'row' }, String(i + 1)),
    ...cells,
    el('td', {}, el('button', { type: 'button', className: 'small danger', 'aria-label': `Remove line ${i + 1}`, onclick: () => removeLine(i) }, 'Remove')),
  );
}

/** The lines as typed (the table is the state): empty optional fields are left out. */
function readLines() {
  return [...$('lines-rows').querySelectorAll('tr[data-line]')].map((tr) => {
    const line = {};
    for (const input of tr.querySelectorAll('input[data-field]')) {
      const v = input.dataset.field === 'password' ? input.value : input.value.trim();
      if (v !== '' || ['server', 'user', 'password'].includes(input.dataset.field)) line[input.dataset.field] = v;
    }
    return line;
  });
}

function renderLines(lines) {
  $('lines-rows').replaceChildren(...lines.map(lineRow));
  $('lines-none').hidden = lines.length > 0;
  $('lines-add').setAttribute('aria-disabled', lines.length >= maxLines ? 'true' : 'false');
  $('lines-count').textContent = `${lines.length} of at most ${maxLines} lines`;
}

function addLine() {
  const lines = readLines();
  if (lines.length >= maxLines) {
    fieldError($('lines-error'), null, `A device has at most ${maxLines} lines.`);
    return;
  }
  renderLines([...lines, {}]);
  $('lines-rows').querySelector(`tr[data-line="${lines.length}"] input`)?.focus();
}

function removeLine(i) {
  const lines = readLines();
  lines.splice(i, 1);
  renderLines(lines);
  fieldError($('lines-error'), null, '');
  $('lines-add').focus();
}

/** `lines[1].password` → the input of that field, so the error points where to type. */
function inputOf(field) {
  const m = /^lines\[(\d+)\]\.(\w+)$/.exec(field ?? '');
  return m ? $('lines-rows').querySelector(`tr[data-line="${m[1]}"] input[data-field="${m[2]}"]`) : null;
}

async function save(ev) {
  ev.preventDefault();
  for (const input of $('lines-rows').querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const { mac, onSaved } = editing;
  try {
    const v = await api.setLines(mac, readLines());
    fieldError($('lines-error'), null, '');
    close();
    say(`SIP lines of ${formatMac(mac)} saved (${v.lines.length}). The phone gets them with its next full configuration.`, 'ok');
    session.changed();
    await onSaved();
  } catch (e) {
    const input = inputOf(e.field);
    fieldError($('lines-error'), input, e.message);
    input?.focus();
  }
}

/**
 * Opens the editor for the device `mac` with its lines as stored now, not as
 * the table drew them: the table may be older (another admin's change, or a
 * reload still under way), and saving stale lines would undo a change.
 * `onSaved` reloads the table.
 */
export async function editLines(mac, onSaved) {
  const [contract, device] = await Promise.all([loadContract().catch(() => ({ maxLines })), api.device(mac)]);
  maxLines = contract.maxLines;
  editing = { mac, onSaved };
  $('lines-mac').textContent = formatMac(mac);
  fieldError($('lines-error'), null, '');
  renderLines(device.lines ?? []);
  $('lines-editor').hidden = false;
  $('lines-editor').focus();
}

function close() {
  editing = null;
  $('lines-editor').hidden = true;
  // Typed passwords do not stay in the page.
  $('lines-rows').replaceChildren();
}

export function setupLines() {
  $('lines-form').addEventListener('submit', save);
  $('lines-add').addEventListener('click', addLine);
  $('lines-cancel').addEventListener('click', close);
}

export const clearLines = close;
