/**
 * Value hygiene shared by the vendor templates. Every value that reaches a
 * configuration file goes through one of these, so a display name such as
 * `A&B <x>` or a password with a newline cannot break the file or inject a
 * setting of its own.
 */

/** C0 controls, DEL, C1 controls and the Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Fast paths: most values (user names, hosts, numbers, labels) are printable
 * ASCII with nothing to replace, and the slow paths below would return them
 * unchanged. Tested with a regular expression, which is far cheaper than
 * the replace/trim or the per-character loop they skip.
 */
const PRINTABLE = /^[\x20-\x7e]*$/;
/** Printable ASCII except the five characters XML escapes. */
const XML_PLAIN = /^[\x20\x21\x23-\x25\x28-\x3b\x3d\x3f-\x7e]*$/;

/** No blank at either end (trim would change it). */
function untrimmed(value: string): boolean {
  return value === '' || (value.charCodeAt(0) !== 0x20 && value.charCodeAt(value.length - 1) !== 0x20);
}

/** Removes every character that could end a line or confuse a parser. */
export function singleLine(value: string): string {
  if (PRINTABLE.test(value) && untrimmed(value)) return value;
  return value.replace(CONTROL, ' ').trim();
}

/**
 * Escapes text for an XML element or a double- or single-quoted attribute.
 * Non-ASCII becomes a character reference, so the file is valid whatever
 * encoding a phone assumes (Gigaset declares ISO-8859-1, others UTF-8).
 */
export function xml(value: string): string {
  if (XML_PLAIN.test(value) && untrimmed(value)) return value;
  let out = '';
  for (const ch of singleLine(value)) {
    switch (ch) {
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '"':
        out += '&quot;';
        break;
      case "'":
        out += '&apos;';
        break;
      default: {
        const code = ch.codePointAt(0)!;
        out += code > 0x7e ? `&#x${code.toString(16)};` : ch;
      }
    }
  }
  return out;
}

/** A value for a `key = value` line: one line, no surrounding blanks. */
export function cfgValue(value: string | number): string {
  return singleLine(String(value));
}

/** A value inside double quotes in a `KEY="value"` file: one line and no quote to close it early. */
export function quotedValue(value: string | number): string {
  return singleLine(String(value)).replace(/"/g, "'");
}

export interface HostPort {
  host: string;
  port: number | null;
}

/**
 * Splits `host:port`, `[v6]:port` or a bare host, as an admin may have typed
 * a line's SIP server. Vendors with separate address and port fields need it.
 */
export function splitHostPort(server: string): HostPort {
  const s = singleLine(server);
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (bracketed) return { host: bracketed[1]!, port: toPort(bracketed[2]) };
  const hostPort = /^([^:]+):(\d{1,5})$/.exec(s);
  if (hostPort) return { host: hostPort[1]!, port: toPort(hostPort[2]) };
  return { host: s, port: null };
}

function toPort(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** Re-provisioning interval in whole minutes (at least one), for phones that count in minutes. */
export function minutes(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** Numbers a phone may dial: digits, `*`, `#` and `+` only (emergency numbers, hot-line). */
export function dialString(value: string): string {
  return value.replace(/[^0-9*#+]/g, '');
}
