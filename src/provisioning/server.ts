import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https, { type ServerOptions as HttpsOptions } from 'node:https';
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Provisioning } from '../app/provisioning';
import type { SourceLimits } from '../app/source-limits';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../ports/logger';
import { FileAnswers, NOT_FOUND, textAnswer, type Answer, type FileRequest } from './answers';
import { ClientAddress } from './client-ip';
import { MinimalFiles } from './minimal-files';
import { maskTarget, routeRequest, type Route } from './routes';

/**
 * The HTTP service phones fetch their configuration from (section 7 of docs/behaviour.md).
 * `main.ts` calls `listen` on what this returns. Only GET and HEAD of the
 * vendor file names exist; everything else is a short 4xx.
 */
export interface ProvisioningServerOptions {
  provisioning: Provisioning;
  log: Logger;
  metrics: Metrics;
  /** IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed. A bad entry throws. */
  trustedProxies: string[];
  /** Largest request body accepted (phones send none). Default 1 KiB. */
  bodyLimit?: number;
  /** Per client address: requests, and misses (404s: MAC enumeration; refused secrets); none: unlimited. */
  limits?: Pick<SourceLimits, 'provisioningWait' | 'provisioningNotFound'>;
  /** Certificate and key: the service speaks HTTPS; none: plain HTTP. */
  https?: HttpsOptions;
  /** The HTTPS options ask for a client certificate (a device CA is set): a verified one can prove the device. */
  deviceCertificates?: boolean;
  /**
   * False: every request goes through fastify, none takes the direct path
   * (tests compare the two). Default true.
   */
  directPath?: boolean;
}

/** Headers beyond this many bytes get 431 from Node before we see the request. */
const MAX_HEADER_BYTES = 8 * 1024;
/** Whole request (headers and body) within this, or Node answers 408. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Idle keep-alive connections are closed after this (fastify's default, kept when the server became ours). */
const KEEP_ALIVE_MS = 72_000;

export function createProvisioningServer(o: ProvisioningServerOptions): FastifyInstance {
  const clients = new ClientAddress(o.trustedProxies);
  const log = o.log.child({ component: 'provisioning-http' });
  const answers = new FileAnswers({
    provisioning: o.provisioning,
    minimalFiles: new MinimalFiles(),
    log,
    metrics: o.metrics,
    deviceCertificates: o.deviceCertificates ?? false,
  });
  // Debug only, and never with the secret of a per-device URL. Not even
  // registered unless the logger says debug is on (pino's isLevelEnabled;
  // a logger without it is asked every time): the level is set at start-up.
  const debug = mayLog(log, 'debug') ? requestLog(log) : undefined;
  const direct = o.directPath !== false ? new DirectPath(answers, clients, o.limits, debug) : undefined;

  const app = Fastify({
    serverFactory: (handler) => {
      const listener: RequestListener = direct ? (req, res) => direct.serve(req, res, handler) : handler;
      const options = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS };
      const server = o.https ? https.createServer({ ...options, ...o.https }, listener) : http.createServer(options, listener);
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      return server;
    },
    logger: false,
    bodyLimit: o.bodyLimit ?? 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    frameworkErrors: (_err, _req, reply) => {
      answers.count('none', 'rejected');
      void send(reply, textAnswer(400, 'malformed request'));
    },
  });
  // Closing: fastify answers 503 and closes the connection, so the direct path steps aside.
  if (direct) app.addHook('preClose', (done) => direct.close(done));

  // Hooks run on every request that reaches fastify: callback style, which spares fastify a promise per hook.
  if (o.limits) limitClients(app, o.limits, clients, () => answers.count('none', 'rejected'));
  // Before any body is read: phones only GET (HEAD mirrors it).
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD') return done();
    answers.count('none', 'rejected');
    void send(reply, textAnswer(405, 'method not allowed', { allow: 'GET, HEAD' }));
  });

  if (debug) {
    app.addHook('onResponse', (request, reply, done) => {
      debug(request.raw, reply.statusCode, reply.elapsedTime);
      done();
    });
  }

  app.setErrorHandler((err, _request, reply) => send(reply, answers.failed(err)));
  app.setNotFoundHandler((_request, reply) => send(reply, textAnswer(404, NOT_FOUND)));

  app.get('*', async (request, reply) => {
    const route = routeRequest(request.raw.url ?? '/');
    if (route.kind === 'reject') {
      answers.count('none', 'rejected');
      return send(reply, textAnswer(route.status, route.status === 404 ? NOT_FOUND : route.reason));
    }
    const ip = clients.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    const answer = await answers.file(route, { method: request.method, socket: request.socket, ip });
    if (answer.secretRefused && o.limits) o.limits.provisioningNotFound(budgetKey(ip, request.raw));
    return send(reply, answer);
  });

  return app;
}

/**
 * The phones' routine requests (GET or HEAD of a file name that routes to a
 * device or a common file) answered straight from Node's HTTP server,
 * without fastify's request and reply objects, hooks and router: about a
 * fifth of a polled request (33.8 against 42.3 µs, bench/README.md).
 * Everything else, and everything while the server closes, goes on to
 * fastify. What fastify's hooks do for these requests is done here too:
 * the client budgets (429, and counting the 404s and refused secrets) and
 * the debug line.
 */
class DirectPath {
  private closing = false;

  constructor(
    private readonly answers: FileAnswers,
    private readonly clients: ClientAddress,
    private readonly limits: ProvisioningServerOptions['limits'],
    private readonly debug: RequestLog | undefined,
  ) {}

  close(done: () => void): void {
    this.closing = true;
    done();
  }

  serve(req: IncomingMessage, res: ServerResponse, fastify: RequestListener): void {
    const route = this.closing || (req.method !== 'GET' && req.method !== 'HEAD') ? null : routeRequest(req.url ?? '/');
    if (route === null || route.kind === 'reject') {
      fastify(req, res);
      return;
    }
    const started = this.debug ? performance.now() : 0;
    // Resolved once: the budgets and the answer use the same address.
    const ip = this.clients.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const client = budgetKey(ip, req);
    const wait = this.limits?.provisioningWait(client) ?? 0;
    if (wait > 0) {
      this.answers.count('none', 'rejected');
      this.write(req, res, tooMany(wait), client, started);
      return;
    }
    // write() cannot throw for an answer made here; should it ever, the connection goes rather than the process.
    this.answer(route, { method: req.method, socket: req.socket, ip })
      .then((answer) => this.write(req, res, answer, client, started))
      .catch(() => res.destroy());
  }

  private async answer(route: Exclude<Route, { kind: 'reject' }>, request: FileRequest): Promise<Answer> {
    try {
      return await this.answers.file(route, request);
    } catch (e) {
      return this.answers.failed(e);
    }
  }

  private write(req: IncomingMessage, res: ServerResponse, a: Answer, client: string, started: number): void {
    if (res.writableEnded || res.destroyed) return; // the phone went away meanwhile
    res.writeHead(a.status, {
      ...a.headers,
      'cache-control': 'no-store',
      'content-type': a.contentType,
      'content-length': Buffer.byteLength(a.body),
    });
    res.end(req.method === 'HEAD' ? undefined : a.body);
    if ((a.status === 404 || a.secretRefused) && this.limits) this.limits.provisioningNotFound(client);
    this.debug?.(req, a.status, performance.now() - started);
  }
}

type RequestLog = (req: IncomingMessage, status: number, ms: number) => void;

/** One debug line per request: the target with any secret masked, never a header or a body. */
function requestLog(log: Logger): RequestLog {
  return (req, status, ms) =>
    log.debug(
      { method: req.method, url: maskTarget(req.url ?? ''), status, ip: req.socket.remoteAddress, ms: Math.round(ms * 10) / 10 },
      'provisioning request',
    );
}

/**
 * A client that collected too many misses, or sent too many requests, gets
 * 429 for every request, whatever it asks for, until its budget refills: a
 * scanner cannot tell a MAC we have from one we do not. Registered first,
 * so it runs before anything else.
 */
function limitClients(app: FastifyInstance, limits: NonNullable<ProvisioningServerOptions['limits']>, clients: ClientAddress, counted: () => void): void {
  app.addHook('onRequest', (request, reply, done) => {
    const wait = limits.provisioningWait(clientOf(clients, request.raw));
    if (wait === 0) return done();
    counted();
    void send(reply, tooMany(wait));
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 404) limits.provisioningNotFound(clientOf(clients, request.raw));
    done();
  });
}

function clientOf(clients: ClientAddress, raw: IncomingMessage): string {
  return budgetKey(clients.resolve(raw.socket.remoteAddress, raw.headers['x-forwarded-for']), raw);
}

/** The address a client's budgets belong to: a trusted proxy with unreadable X-Forwarded-For is limited as itself. */
function budgetKey(ip: string | null, raw: IncomingMessage): string {
  return ip ?? raw.socket.remoteAddress ?? '';
}

function tooMany(waitSeconds: number): Answer {
  return textAnswer(429, 'too many requests', { 'retry-after': String(waitSeconds) });
}

/** False only when the logger can tell that `level` is off. */
function mayLog(log: Logger, level: string): boolean {
  return log.isLevelEnabled?.(level) ?? true;
}

function send(reply: FastifyReply, a: Answer): FastifyReply {
  if (a.headers) reply.headers(a.headers);
  return reply.code(a.status).header('cache-control', 'no-store').type(a.contentType).send(a.body);
}
