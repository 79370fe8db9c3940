// The prompt languages papgate ships, as the server names them in /whoami:
// the portal keeps no list of its own, so a new language needs no change here.
import { el } from './dom.js';

const languageName = (() => {
  try {
    const names = new Intl.DisplayNames(['en'], { type: 'language' });
    return (code) => names.of(code) || code;
  } catch {
    return (code) => code; // a browser without Intl.DisplayNames shows the codes
  }
})();

/**
 * Fills a locale <select> with the server's languages (English first when it is
 * one of them). `inheritLabel`: a first, empty choice (a site using its tenant's).
 */
export function fillLocales(select, locales, inheritLabel) {
  const keep = select.value;
  const codes = Array.isArray(locales) && locales.length ? locales : ['en'];
  select.replaceChildren(
    ...(inheritLabel ? [el('option', { value: '' }, inheritLabel)] : []),
    ...codes.map((c) => el('option', { value: c }, `${languageName(c)} (${c})`)),
  );
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}
