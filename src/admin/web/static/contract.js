// What the server accepts, read from its own API description (no token
// needed): the prompt languages and the line limit live in one place, the
// server, and the page follows when they change.

let loading = null;

/** { locales: ['en', ...], maxLines } from /api/v1/openapi.json; a failed read is tried again next time. */
export function loadContract() {
  loading ??= fetch('/api/v1/openapi.json', { cache: 'no-store', credentials: 'omit' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`the API description answered ${r.status}`))))
    .then((doc) => {
      const schemas = doc?.components?.schemas ?? {};
      const locales = Array.isArray(schemas.Locale?.enum) ? schemas.Locale.enum : [];
      if (!locales.length) throw new Error('the API description lists no prompt language');
      return { locales, maxLines: schemas.LinesPut?.properties?.lines?.maxItems ?? 16 };
    })
    .catch((e) => {
      loading = null;
      throw e;
    });
  return loading;
}

const names = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'language' }) : null;

/** "German (de)": the browser names the language; the code stays visible. */
export function localeLabel(code) {
  let name = code;
  try {
    name = names?.of(code) ?? code;
  } catch {
    /* an unknown code keeps its code as its name */
  }
  return name === code ? code : `${name} (${code})`;
}
