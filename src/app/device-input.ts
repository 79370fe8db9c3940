import { invalid } from '../domain/errors';
import { MAX_LINE_FIELD_LENGTH, MAX_LINES, MODEL_PATTERN, MODEL_RULE, NO_CONTROL_CHARS, QUOTABLE_VALUE } from '../domain/input-rules';
import { VENDORS, type Line, type Vendor } from '../domain/types';

/** Validation of admin input about devices; messages name the field. */

export function parseVendor(input: unknown, field = 'vendor'): Vendor {
  const v = typeof input === 'string' ? input.trim().toLowerCase() : '';
  if ((VENDORS as readonly string[]).includes(v)) return v as Vendor;
  throw invalid(field, `${field} must be one of: ${VENDORS.join(', ')}`);
}

export function parseModel(input: unknown, field = 'model'): string {
  const m = typeof input === 'string' ? input.trim() : '';
  if (!MODEL_PATTERN.test(m)) {
    throw invalid(field, `${field} must be ${MODEL_RULE}`);
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
    if (typeof v !== 'string' || v.length > MAX_LINE_FIELD_LENGTH || !NO_CONTROL_CHARS.test(v)) {
      throw invalid(`${field}.${k}`, `${field}.${k} must be text of at most ${MAX_LINE_FIELD_LENGTH} characters without control characters`);
    }
    if (k !== 'displayName' && v === '') throw invalid(`${field}.${k}`, `${field}.${k} must not be empty`);
    if (k !== 'displayName' && !QUOTABLE_VALUE.test(v)) {
      throw invalid(`${field}.${k}`, `${field}.${k} must not contain a double quote or start or end with a blank`);
    }
    out[k] = v;
  }
  return out;
}

export function parseLines(input: unknown): Line[] {
  if (!Array.isArray(input)) throw invalid('lines', 'lines must be a list of lines');
  if (input.length > MAX_LINES) throw invalid('lines', `at most ${MAX_LINES} lines per device`);
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
