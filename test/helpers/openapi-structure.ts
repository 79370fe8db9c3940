/**
 * A structural check of an OpenAPI 3.1 document: the parts a client
 * generator relies on. Returns the problems found (empty: none).
 */

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value a local `$ref` ("#/a/b") points at, or undefined. */
export function resolveRef(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((at, key) => (isObject(at) ? at[key.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined), doc);
}

function walk(v: unknown, visit: (o: Json, where: string) => void, where = '#'): void {
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, visit, `${where}/${i}`));
  else if (isObject(v)) {
    visit(v, where);
    for (const [k, x] of Object.entries(v)) walk(x, visit, `${where}/${k}`);
  }
}

function checkOperation(path: string, method: string, op: Json, inherited: unknown[]): string[] {
  const at = `${method.toUpperCase()} ${path}`;
  const problems: string[] = [];
  const responses = op.responses;
  if (!isObject(responses) || Object.keys(responses).length === 0) problems.push(`${at}: no responses`);
  for (const [status, r] of Object.entries(isObject(responses) ? responses : {})) {
    if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${at}: response key ${status}`);
    if (!isObject(r) || (typeof r.description !== 'string' && typeof r.$ref !== 'string')) problems.push(`${at}: response ${status} has no description`);
  }
  const params = [...inherited, ...(Array.isArray(op.parameters) ? op.parameters : [])];
  for (const p of params) {
    if (!isObject(p) || typeof p.name !== 'string' || !['path', 'query', 'header', 'cookie'].includes(String(p.in)) || !isObject(p.schema)) {
      problems.push(`${at}: malformed parameter ${JSON.stringify(p)}`);
    } else if (p.in === 'path' && p.required !== true) problems.push(`${at}: path parameter ${p.name} not required`);
  }
  const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  const declared = params
    .filter((p) => isObject(p) && p.in === 'path')
    .map((p) => (p as Json).name)
    .sort();
  if (JSON.stringify(templated) !== JSON.stringify(declared)) problems.push(`${at}: path parameters ${declared} do not match the template`);
  if (op.requestBody !== undefined) {
    const content = isObject(op.requestBody) ? op.requestBody.content : undefined;
    if (!isObject(content) || Object.values(content).some((m) => !isObject(m) || !isObject(m.schema))) problems.push(`${at}: request body without schema`);
  }
  if (typeof op.summary !== 'string' || op.summary === '') problems.push(`${at}: no summary`);
  return problems;
}

export function openApiProblems(doc: Json): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) problems.push('openapi is not 3.1.x');
  const info = doc.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') problems.push('info needs title and version');
  if (!isObject(doc.paths)) return [...problems, 'no paths'];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/') || !isObject(item)) {
      problems.push(`bad path item ${path}`);
      continue;
    }
    const inherited = Array.isArray(item.parameters) ? item.parameters : [];
    for (const [key, op] of Object.entries(item)) {
      if (key === 'parameters' || key === 'summary' || key === 'description') continue;
      if (!METHODS.includes(key) || !isObject(op)) {
        problems.push(`${path}: unknown key ${key}`);
        continue;
      }
      problems.push(...checkOperation(path, key, op, inherited));
    }
  }
  const schemes = isObject(doc.components) && isObject(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  for (const req of Array.isArray(doc.security) ? doc.security : []) {
    for (const name of Object.keys(isObject(req) ? req : {})) if (!(name in schemes)) problems.push(`security scheme ${name} is not defined`);
  }
  walk(doc, (o, where) => {
    if (typeof o.$ref === 'string' && resolveRef(doc, o.$ref) === undefined) problems.push(`${where}: dangling $ref ${o.$ref}`);
    if ('$defs' in o || '$schema' in o) problems.push(`${where}: leftover $defs/$schema`);
  });
  return problems;
}
