import type { ServerOptions as HttpsOptions } from 'node:https';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AdminServices } from '../../app/services';
import { invalid, isPapgateError, notFound, type PapgateError } from '../../domain/errors';
import type { Metrics } from '../../observability/metrics';
import type { Logger } from '../../ports/logger';
import { describeError, errorBody, httpStatusOf, type AdminErrorCode } from '../errors';
import { bearerToken, resolveActor } from './auth';
import { API_PREFIX, openApiDocument } from './openapi';
import { actionOf, registerRoutes, type ApiRoute } from './route';
import { deviceRoutes } from './routes-devices';
import { tenantDataRoutes } from './routes-tenant-data';
import { tenantRoutes } from './routes-tenants';
import { webhookRoutes } from './routes-webhooks';

export interface AdminServerOptions {
  /** Certificate and key: the API and portal speak HTTPS; none: plain HTTP. */
  https?: HttpsOptions;
  services: AdminServices;
  metrics: Metrics;
  log: Logger;
  /** The platform admin's bearer token; null: only tenant tokens are accepted. */
  adminToken: string | null;
  /** Mounts more routes (the web portal) on the same server; they get the same error mapping. */
  extraRoutes?: (app: FastifyInstance) => void;
  /**
   * Readiness of each part (store, SIP, media) for /readyz: true when ready,
   * false or a sentence saying why when not. Absent: always ready.
   */
  readiness?: () => Promise<Record<string, boolean | string>>;
}

/** JSON bodies are small (a device, 16 lines at most); CSV imports have their own limit. */
export const JSON_BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** How a failed request failed (the metric's outcome label); null while it has not. */
    adminErrorCode: AdminErrorCode | null;
  }
}

/** The API's route table: registered under /api/v1 and described by /api/v1/openapi.json. */
export function apiRoutes(services: AdminServices): ApiRoute[] {
  return [...tenantRoutes(services), ...deviceRoutes(services), ...tenantDataRoutes(services), ...webhookRoutes(services)];
}

export interface RegisteredRoute {
  method: string;
  url: string;
}
const routeTables = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the server registered (for the OpenAPI coverage check). */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(routeTables.get(app) ?? [])];
}

/**
 * The admin HTTP server: /healthz, /metrics and the JSON API under /api/v1
 * (bearer tokens). Not listening yet: main.ts calls listen().
 */
export function createAdminServer(o: AdminServerOptions): FastifyInstance {
  const app = Fastify({ ...(o.https ? { https: o.https } : {}), logger: false, bodyLimit: JSON_BODY_LIMIT, return503OnClosing: true }) as FastifyInstance;
  const routes: RegisteredRoute[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });

  registerBodyParsers(app);
  app.decorateRequest('adminErrorCode', null);
  const routeTable = apiRoutes(o.services);
  const document = openApiDocument(routeTable);

  app.setErrorHandler((err: FastifyError | PapgateError, req, reply) => {
    const report = describeError(isPapgateError(err) ? err : fromFramework(err, req));
    req.adminErrorCode = report.code;
    if (report.code === 'unavailable') o.metrics.storeErrors.inc({ surface: 'admin' });
    if (report.code === 'internal') {
      o.log.error({ method: req.method, url: pathOf(req), error: { name: err.name, message: err.message, stack: err.stack } }, 'admin request failed');
    }
    const status = httpStatusOf(report.code);
    if (status === 401) reply.header('WWW-Authenticate', 'Bearer');
    return reply.code(status).type('application/json; charset=utf-8').send(errorBody(report));
  });

  app.setNotFoundHandler((req, reply) => {
    const report = describeError(notFound(`no route ${req.method} ${pathOf(req)}; see /api/v1/openapi.json`));
    return reply.code(httpStatusOf(report.code)).send(errorBody(report));
  });

  app.addHook('onResponse', async (req, reply) => {
    const action = actionOf(req);
    if (action) {
      const outcome = reply.statusCode < 400 ? 'ok' : (req.adminErrorCode ?? String(reply.statusCode));
      o.metrics.adminActions.inc({ action, outcome });
    }
    // Method, path and status only: never headers (Authorization) or bodies (PAPs, passwords).
    const line = { method: req.method, url: pathOf(req), status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (line.url === '/healthz' || line.url === '/readyz' || line.url === '/metrics') o.log.debug(line, 'admin request');
    else o.log.info(line, 'admin request');
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const states = Object.entries((await o.readiness?.()) ?? {});
    const parts = Object.fromEntries(states.map(([name, s]) => [name, s === true]));
    const problems = Object.fromEntries(states.flatMap(([name, s]) => (s === true ? [] : [[name, s || 'not ready']])));
    const ready = Object.values(parts).every(Boolean);
    return reply.code(ready ? 200 : 503).send(ready ? { ready, parts } : { ready, parts, problems });
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await o.metrics.render();
    return reply.type(m.contentType).send(m.body);
  });
  app.get(`${API_PREFIX}/openapi.json`, async () => document);

  app.register(
    async (api) => {
      api.addHook('onRequest', async (req) => {
        req.adminActor = { ...(await resolveActor(o.services, o.adminToken, bearerToken(req.headers.authorization))), sourceIp: req.ip };
      });
      // Answers carry PAPs, tokens and SIP passwords: no cache may keep them.
      api.addHook('onSend', async (_req, reply, payload) => {
        reply.header('Cache-Control', 'no-store').header('X-Content-Type-Options', 'nosniff');
        return payload;
      });
      registerRoutes(api, routeTable);
    },
    { prefix: API_PREFIX },
  );

  o.extraRoutes?.(app);
  return app;
}

/** JSON (an empty body reads as none, so POSTs without payload work with any client) and CSV as text. */
function registerBodyParsers(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return json(req, text, done);
  });
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
}

/** fastify's own errors (bad JSON, body too large, wrong content type) in papgate's words. */
function fromFramework(err: FastifyError, req: FastifyRequest): PapgateError | Error {
  const status = err.statusCode ?? 500;
  if (status < 400 || status >= 500) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return invalid('body', `the request body is larger than ${req.routeOptions.bodyLimit ?? JSON_BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return invalid('body', `unsupported Content-Type "${String(req.headers['content-type'] ?? '')}": send application/json (text/csv for imports)`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalid('body', 'the Content-Length header does not match the body');
    default:
      break;
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return invalid('body', 'the request body is not valid JSON (send a JSON object with "Content-Type: application/json")');
  }
  if (status === 404) return notFound(err.message);
  return invalid('body', err.message);
}

function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
}
