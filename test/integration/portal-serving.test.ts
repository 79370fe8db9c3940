import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findStaticDir } from '../../src/admin/web/portal';
import { startPortalServer, type PortalServer } from '../browser/portal-harness';

/** How papgate serves the portal: content types, CSP, no listing, no way out of the static directory. */

/** A GET with the path sent exactly as written (fetch would normalise "..").*/
function rawGet(base: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('admin portal: serving the page', function () {
  this.timeout(20_000);
  let server: PortalServer;
  const staticDir = findStaticDir();

  before(async () => {
    server = await startPortalServer();
  });
  after(async () => {
    await server?.close();
  });

  it('serves the page at / and /index.html with a strict Content-Security-Policy', async () => {
    for (const path of ['/', '/index.html']) {
      const r = await rawGet(server.url, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.match(r.body, /<title>papgate admin<\/title>/);
    }
  });

  it('serves every static file with its content type', async () => {
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
      html: 'text/html; charset=utf-8',
    };
    for (const name of readdirSync(staticDir)) {
      const r = await rawGet(server.url, `/static/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers['content-type'], types[name.split('.').pop()!], name);
      assert.ok(r.headers['content-security-policy'], name);
    }
  });

  it('keeps its headers to itself: a registered, encapsulated plugin', async () => {
    const missing = await rawGet(server.url, '/static/nope.js');
    assert.equal(missing.status, 404);
    assert.ok(missing.headers['content-security-policy'], "the portal's own 404 carries its headers");
    for (const path of ['/api/v1/openapi.json', '/healthz']) {
      const r = await rawGet(server.url, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-security-policy'], undefined, path);
      assert.equal(r.headers['x-frame-options'], undefined, path);
    }
  });

  it('has no inline script, inline style or event-handler attribute, and loads nothing from elsewhere', () => {
    const html = readFileSync(join(staticDir, 'index.html'), 'utf8');
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="\/static\/[\w.-]+\.js"/, tag);
    assert.doesNotMatch(html, /<script\b[^>]*>[^<\s]/, 'inline script');
    assert.doesNotMatch(html, /<style\b|\sstyle=/, 'inline style');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'event-handler attribute');
    for (const name of readdirSync(staticDir)) {
      const text = readFileSync(join(staticDir, name), 'utf8');
      assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, `${name} refers to another server`);
      assert.doesNotMatch(text, /innerHTML|insertAdjacentHTML|eval\(|new Function/, `${name} builds code or markup from text`);
    }
  });

  it('resolves every module import of the page', async () => {
    for (const name of readdirSync(staticDir).filter((n) => n.endsWith('.js'))) {
      const text = readFileSync(join(staticDir, name), 'utf8');
      for (const [, target] of text.matchAll(/from '\.\/([\w-]+\.js)'/g)) {
        assert.equal((await rawGet(server.url, `/static/${target}`)).status, 200, `${name} imports ${target}`);
      }
    }
  });

  it('lists no directory and lets no path out of the static directory', async () => {
    const paths = [
      '/static/',
      '/static',
      '/static/missing.js',
      '/static/.hidden',
      '/static/portal.ts',
      '/static/../portal.ts',
      '/static/..%2fportal.ts',
      '/static/%2e%2e%2fportal.ts',
      '/static/%2e%2e/%2e%2e/package.json',
      '/static/..%5cportal.ts',
      '/static/%2fetc%2fpasswd',
      '/static/index.html%00.js',
      '/static/../../../../package.json',
    ];
    for (const path of paths) {
      const r = await rawGet(server.url, path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body, /registerPortal|"name": "papgate"|root:/, path);
    }
  });

  it('finds the static files from a compiled copy (dist/) too, skipping a package.json without them', () => {
    const root = mkdtempSync(join(tmpdir(), 'papgate-root-'));
    try {
      mkdirSync(join(root, 'src', 'admin', 'web', 'static'), { recursive: true });
      mkdirSync(join(root, 'dist', 'src', 'admin', 'web'), { recursive: true });
      writeFileSync(join(root, 'package.json'), '{}');
      writeFileSync(join(root, 'dist', 'package.json'), '{}'); // tsc copies an imported package.json
      writeFileSync(join(root, 'src', 'admin', 'web', 'static', 'index.html'), '<!doctype html>');
      assert.equal(findStaticDir(join(root, 'dist', 'src', 'admin', 'web')), join(root, 'src', 'admin', 'web', 'static'));
      assert.throws(() => findStaticDir(tmpdir()), /static files/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
