import { invalid } from '../domain/errors';
import { VENDORS, type Line, type Vendor } from '../domain/types';

/** Validation of admin input about devices; messages name the field. */

export function parseVendor(input: unknown, field = 'vendor'): Vendor {
  const v = typeof input === 'string' ? input.trim().toLowerCase() : '';
  if ((VENDORS as readonly string[]).includes(v)) return v as Vendor;
  throw invalid(field, `${field} must be one of: ${VENDORS.join(', ')}`);
}

export function parseModel(input: unknown, field = 'model'): string {
  const m = typeof input === 'string' ? input.trim() : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,39}$/.test(m)) {
    throw invalid(field, `${field} must be 1-40 characters: letters, digits, space, '.', '_', '+' or '-' (e.g. T46S)`);
  }
  return m;
}

const LINE_FIELDS: (keyof Line)[] = ['server', 'user', 'authName', 'password', 'displayName'];

/** A line of the full configuration. No control characters: values end up in config files. */
export function parseLine(input: unknown, index: number): Line {
  const field = `lines[${index}]`;
  if (typeof input !== 'object' || input === null) throw invalid(field, `${field} must be an object with ${LINE_FIELDS.join(', ')}`);
  const o = input as Record<string, unknown>;
  const out = {} as Line;
  for (const k of LINE_FIELDS) {
    const v = o[k] ?? (k === 'authName' ? o.user : k === 'displayName' ? '' : undefined);
    if (typeof v !== 'string' || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v)) {
      throw invalid(`${field}.${k}`, `${field}.${k} must be text of at most 128 characters without control characters`);
    }
    if (k !== 'displayName' && v === '') throw invalid(`${field}.${k}`, `${field}.${k} must not be empty`);
    // Vendor formats quote these values; a quote or an outer blank would reach the phone altered.
    if (k !== 'displayName' && (v.includes('"') || v.trim() !== v)) {
      throw invalid(`${field}.${k}`, `${field}.${k} must not contain a double quote or start or end with a blank`);
    }
    out[k] = v;
  }
  return out;
}

export function parseLines(input: unknown): Line[] {
  if (!Array.isArray(input)) throw invalid('lines', 'lines must be a list of lines');
  if (input.length > 16) throw invalid('lines', 'at most 16 lines per device');
  return input.map((l, i) => parseLine(l, i));
}

/** `server=...,user=...,password=...[,authName=...][,displayName=...]` (the CLI's form of a line). */
export function parseLineSpec(spec: string, index: number): Line {
  const o: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(`lines[${index}]`, `line ${index + 1}: expected key=value pairs separated by commas, got "${part}"`);
    o[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  return parseLine(o, index);
}
