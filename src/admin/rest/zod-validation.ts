import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { invalid, type PapgateError } from '../../domain/errors';

/**
 * Validation of path parameters, query strings and bodies against the route
 * schemas (schemas.ts), installed as fastify's validator compiler. A failure
 * becomes papgate's own 400: `{ error: 'invalid', field, message }`, the field
 * written as `lines[0].password`. Only the first problem is reported, like
 * the use cases do.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data: unknown) => {
    const input = httpPart === 'body' ? bodyOf(data) : httpPart === 'querystring' ? withoutEmpty(data) : data;
    // reportInput lets the mapping tell a missing field from a wrong one; inputs never reach a message or log.
    const result = schema.safeParse(input, { reportInput: true });
    if (result.success) return { value: result.data };
    return { error: toInvalid(result.error.issues[0]!, httpPart ?? 'body', schema) };
  };

/** A missing body reads as {}, so the message is about the missing field, not the body. */
const bodyOf = (data: unknown) => (data === undefined || data === null ? {} : data);

/** `?state=&site=` means no filter: an empty query parameter counts as not given. */
function withoutEmpty(query: unknown): unknown {
  if (typeof query !== 'object' || query === null) return query;
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
}

function toInvalid(issue: z.core.$ZodIssue, part: string, root: z.ZodType): PapgateError {
  const where = fieldName(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = fieldName([...issue.path, key]);
    return invalid(field, `unknown field "${field}"; expected: ${fieldsAt(root, issue.path).join(', ')}`);
  }
  if (where === '') {
    const what = part === 'body' ? 'the request body' : part === 'querystring' ? 'the query string' : 'the path';
    return invalid(part === 'querystring' ? 'query' : part, `${what} must be a JSON object with the fields ${fieldsAt(root, []).join(', ')}`);
  }
  const rule = issue.message.startsWith('must') ? `${where} ${issue.message}` : `${where}: ${issue.message}`;
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) return invalid(where, `${where} is missing: ${rule}`);
  if (part === 'querystring' && Array.isArray(issue.input)) return invalid(where, `${where} must be given once`);
  return invalid(where, rule);
}

/** `['lines', 0, 'password']` → `lines[0].password`. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');
}

/** The field names the object schema at `path` declares (for "expected: ..." messages). */
function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: unknown = root;
  for (const key of path) {
    while (at instanceof z.ZodOptional || at instanceof z.ZodNullable) at = at.unwrap();
    if (at instanceof z.ZodArray && typeof key === 'number') at = at.element;
    else if (at instanceof z.ZodObject && typeof key === 'string') at = at.shape[key];
    else return [];
  }
  return at instanceof z.ZodObject ? Object.keys(at.shape) : [];
}
