// Small DOM and formatting helpers. Data only ever enters the page as text
// (textContent), never as HTML, so a device or tenant name cannot inject markup.

export const $ = (id) => document.getElementById(id);

/** el('td', {className: 'x'}, 'text', child, ...) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k in node && !k.startsWith('aria') && k !== 'role') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** The global live region: short confirmations and failures, read out by screen readers. */
export function say(message, kind = 'info') {
  const status = $('status');
  status.textContent = '';
  status.className = `status status-${kind}`;
  // A fresh text node in an emptied region is announced even when the words repeat.
  if (message)
    requestAnimationFrame(() => {
      status.textContent = message;
    });
}

/** Reports a failed call; a refused token (401) is not reported here: the app signs out and says so. */
export function sayError(e, prefix = '') {
  if (e?.status === 401) return;
  say(prefix ? `${prefix}: ${e.message}` : e.message, 'error');
}

/** Shows `message` in a form's error paragraph and marks `input` invalid (or clears both). */
export function fieldError(p, input, message) {
  p.textContent = message || '';
  if (input) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

/** Epoch ms, ISO text or null → Date or null (the API may send either). */
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = new Date(typeof v === 'number' ? v : String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n) => String(n).padStart(2, '0');

/** Local time as "2024-05-01 14:03" (unambiguous, sorts well). */
export function formatTime(v) {
  const d = toDate(v);
  if (!d) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "29 min left", "1 h 5 min left", "less than a minute left". */
export function timeLeft(until, now) {
  const d = toDate(until);
  if (!d) return '';
  const ms = d.getTime() - now;
  if (ms <= 0) return 'ended';
  const minutes = Math.ceil(ms / 60000);
  if (ms < 60000) return 'less than a minute left';
  if (minutes < 60) return `${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${h} h ${rest} min left` : `${h} h left`;
}

/** Replaces a tbody's rows; `empty` is the text of a single row when there are none. */
export function fillRows(tbody, rows, empty, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colSpan: columns, className: 'empty' }, empty))]));
}
