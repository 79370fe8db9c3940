import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';

/**
 * The admin web portal: static HTML/CSS/JS served on the admin
 * port next to the REST API it calls. No build step, no CDN. The page holds
 * no data itself; every request it makes carries the operator's token.
 */

const STATIC_SUBDIR = join('src', 'admin', 'web', 'static');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Scripts, styles and fetches only from papgate itself; no inline code, no framing. */
export const PORTAL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  contentType: string;
  body: Buffer;
}

/**
 * The static directory, found by walking up from this file to the package
 * root, so it works under tsx (src/admin/web) and after tsc (dist/src/admin/web).
 */
export function findStaticDir(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, STATIC_SUBDIR);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`the portal's static files (${STATIC_SUBDIR}) were not found above ${from}`);
  }
}

/** Reads the flat static directory once: only these names are ever served, so no path reaches the disk. */
function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name).toLowerCase()];
    if (!entry.isFile() || !contentType || entry.name.startsWith('.')) continue;
    files.set(entry.name, { contentType, body: readFileSync(join(dir, entry.name)) });
  }
  return files;
}

/** Headers of every answer of the portal, its 404s included (an onSend hook of the plugin's own context). */
function portalHeaders(reply: FastifyReply): void {
  reply
    .header('content-security-policy', PORTAL_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    // Small files, rarely changed; revalidating keeps an upgraded papgate's page and script in step.
    .header('cache-control', 'no-cache');
}

export interface PortalOptions {
  /** Where index.html and the scripts are (default: found above this file). */
  staticDir?: string;
}

/**
 * The portal as a fastify plugin. Encapsulated (not wrapped with
 * fastify-plugin): its headers hook applies to its own routes only, never to
 * the API's JSON answers beside it.
 */
export const portalPlugin: FastifyPluginAsync<PortalOptions> = async (app, opts) => {
  const staticDir = opts.staticDir ?? findStaticDir();
  const files = loadStaticFiles(staticDir);
  const index = files.get('index.html');
  if (!index) throw new Error(`${staticDir} has no index.html`);

  app.addHook('onSend', async (_req, reply, payload) => {
    portalHeaders(reply);
    return payload;
  });
  const send = (reply: FastifyReply, file: StaticFile) => reply.header('content-type', file.contentType).send(file.body);
  app.get('/', (_req, reply) => send(reply, index));
  app.get('/index.html', (_req, reply) => send(reply, index));
  app.get<{ Params: { file: string } }>('/static/:file', (req, reply) => {
    const file = files.get(req.params.file);
    if (!file) return reply.code(404).send({ error: 'not_found', message: 'no such file' });
    return send(reply, file);
  });
};

/** Mounts the portal on the admin server (the `extraRoutes` hook of createAdminServer). */
export function registerPortal(app: FastifyInstance, staticDir?: string): void {
  app.register(portalPlugin, staticDir === undefined ? {} : { staticDir });
}
