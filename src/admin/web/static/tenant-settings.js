// Settings of the open tenant: its prompt language (tenant and platform
// admins), and its admin token, rotated by the platform admin only after a
// confirmation; the new token is shown once.
import { api } from './api.js';
import { localeLabel } from './contract.js';
import { $, el, fieldError, say, sayError } from './dom.js';
import { fillLocales } from './locales.js';
import { session } from './session.js';

export async function loadSettings() {
  const tenant = session.tenant;
  const t = await api.tenant(tenant);
  if (tenant !== session.tenant) return;
  fillLocales($('settings-locale'), session.who?.locales);
  $('settings-locale').value = t.locale;
  $('settings-locale').dataset.saved = t.locale;
  $('token-rotation').hidden = session.who?.kind !== 'platform';
}

async function saveLocale(ev) {
  ev.preventDefault();
  const select = $('settings-locale');
  try {
    const t = await api.setLocale(session.tenant, select.value);
    select.dataset.saved = t.locale;
    fieldError($('locale-error'), select, '');
    say(`Prompts of ${t.name} are now in ${localeLabel(t.locale)}.`, 'ok');
    session.changed();
  } catch (e) {
    fieldError($('locale-error'), select, e.message);
  }
}

function askRotation() {
  $('token-new').hidden = true;
  $('token-new').replaceChildren();
  $('token-confirm').hidden = false;
  $('token-rotate-cancel').focus();
}

function cancelRotation() {
  $('token-confirm').hidden = true;
  $('token-rotate').focus();
}

async function rotate() {
  const tenant = session.tenant;
  $('token-confirm').hidden = true;
  try {
    const { token } = await api.rotateToken(tenant);
    const box = $('token-new');
    box.replaceChildren(
      el('p', {}, `New admin token of ${tenant}. It is shown only now; the old one no longer works. Give it to the tenant's admin:`),
      el('p', {}, el('code', { className: 'token' }, token)),
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
    say(`Admin token of ${tenant} rotated.`, 'ok');
    session.changed();
  } catch (e) {
    sayError(e, `Could not rotate the token of ${tenant}`);
  }
}

export function setupSettings() {
  $('locale-form').addEventListener('submit', saveLocale);
  $('token-rotate').addEventListener('click', askRotation);
  $('token-rotate-cancel').addEventListener('click', cancelRotation);
  $('token-rotate-confirm').addEventListener('click', () => {
    rotate().catch((e) => sayError(e));
  });
}

/** Forget the previous tenant's settings, and never leave a token on screen. */
export function clearSettings() {
  $('settings-locale').replaceChildren();
  fieldError($('locale-error'), $('settings-locale'), '');
  $('token-confirm').hidden = true;
  $('token-new').hidden = true;
  $('token-new').replaceChildren();
}
