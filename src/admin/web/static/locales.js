// The prompt languages papgate ships, as the server names them in /whoami:
// the portal keeps no list of its own, so a new language needs no change here.
import { localeLabel } from './contract.js';
import { el } from './dom.js';

/**
 * Fills a locale <select> with the server's languages (English first when it is
 * one of them). `inheritLabel`: a first, empty choice (a site using its tenant's).
 */
export function fillLocales(select, locales, inheritLabel) {
  const keep = select.value;
  const codes = Array.isArray(locales) && locales.length ? locales : ['en'];
  select.replaceChildren(...(inheritLabel ? [el('option', { value: '' }, inheritLabel)] : []), ...codes.map((c) => el('option', { value: c }, localeLabel(c))));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}
