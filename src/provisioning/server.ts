import type { IncomingMessage } from 'node:http';
import type { ServerOptions as HttpsOptions } from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Provisioning } from '../app/provisioning';
import type { SourceLimits } from '../app/source-limits';
import { isPapgateError } from '../domain/errors';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../ports/logger';
import { verifiedClientCertificate } from './client-certificate';
import { ClientAddress } from './client-ip';
import { MinimalFiles } from './minimal-files';
import { maskTarget, routeRequest } from './routes';
import { renderCommonFile, renderDeviceFile } from './templates';

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
  /** 404s per client address (MAC enumeration); none: unlimited. */
  limits?: Pick<SourceLimits, 'provisioningWait' | 'provisioningNotFound'>;
  /** Certificate and key: the service speaks HTTPS; none: plain HTTP. */
  https?: HttpsOptions;
  /** The HTTPS options ask for a client certificate (a device CA is set): a verified one can prove the device. */
  deviceCertificates?: boolean;
}

/** Headers beyond this many bytes get 431 from Node before we see the request. */
const MAX_HEADER_BYTES = 8 * 1024;
const NOT_FOUND = 'not found';

type Decision = 'full' | 'minimal' | 'unknown' | 'common' | 'rejected' | 'unavailable' | 'error';

export function createProvisioningServer(o: ProvisioningServerOptions): FastifyInstance {
  const clients = new ClientAddress(o.trustedProxies);
  const minimalFiles = new MinimalFiles();
  const log = o.log.child({ component: 'provisioning-http' });
  const count = (vendor: string, decision: Decision) => o.metrics.provisioningRequests.inc({ vendor, decision });

  const app = Fastify({
    ...(o.https ? { https: o.https } : {}),
    logger: false,
    bodyLimit: o.bodyLimit ?? 1024,
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    requestTimeout: 15_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    frameworkErrors: (_err, _req, reply) => {
      count('none', 'rejected');
      void text(reply, 400, 'malformed request');
    },
  });

  // Hooks run on every phone request: callback style, which spares fastify a promise per hook.
  if (o.limits) limitNotFound(app, o.limits, clients, () => count('none', 'rejected'));
  // Before any body is read: phones only GET (HEAD mirrors it).
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD') return done();
    count('none', 'rejected');
    reply.header('allow', 'GET, HEAD');
    void text(reply, 405, 'method not allowed');
  });

  // Debug only, and never with the secret of a per-device URL. Not even
  // registered unless the logger says debug is on (pino's isLevelEnabled;
  // a logger without it is asked every time): the level is set at start-up.
  if (mayLog(log, 'debug')) {
    app.addHook('onResponse', (request, reply, done) => {
      log.debug(
        {
          method: request.method,
          url: maskTarget(request.raw.url ?? ''),
          status: reply.statusCode,
          ip: request.socket.remoteAddress,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'provisioning request',
      );
      done();
    });
  }

  app.setErrorHandler((err, _request, reply) => {
    log.error({ error: err instanceof Error ? err.message : String(err) }, 'provisioning request failed');
    count('none', 'error');
    return text(reply, 500, 'internal error');
  });

  app.setNotFoundHandler((_request, reply) => text(reply, 404, NOT_FOUND));

  app.get('*', async (request, reply) => {
    const route = routeRequest(request.raw.url ?? '/');
    if (route.kind === 'reject') {
      count('none', 'rejected');
      return text(reply, route.status, route.status === 404 ? NOT_FOUND : route.reason);
    }
    if (route.kind === 'common') {
      count(route.vendors[0]!, 'common');
      const file = renderCommonFile(route.file);
      return reply.code(200).header('cache-control', 'no-store').type(file.contentType).send(file.body);
    }

    const ip = clients.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    if (ip === null) {
      count('none', 'rejected');
      return text(reply, 400, 'cannot tell the client address (X-Forwarded-For)');
    }

    const certificate = o.deviceCertificates ? verifiedClientCertificate(request.socket) : null;
    let result;
    try {
      result = await o.provisioning.handle({
        mac: route.mac,
        ip,
        secret: route.secret,
        vendors: route.vendors,
        certificateMacs: certificate?.macs,
        readOnly: request.method === 'HEAD', // HEAD must not mint a secret or mark the device
      });
    } catch (e) {
      if (isPapgateError(e) && e.code === 'unavailable') {
        o.metrics.storeErrors.inc({ surface: 'provisioning' });
        count('none', 'unavailable');
        log.warn({ error: e.message }, 'store unavailable: provisioning refused');
        reply.header('retry-after', '30');
        return text(reply, 503, 'service unavailable');
      }
      throw e;
    }
    // Same answer for an unknown MAC and a file of another vendor's format: no hint either way.
    if (result.kind === 'unknown' || !route.vendors.includes(result.device.vendor)) {
      count('unknown', 'unknown');
      return text(reply, 404, NOT_FOUND);
    }
    if (result.kind === 'full' && result.reason === 'certificate') {
      log.info({ mac: route.mac, ip, subject: certificate?.subject, fingerprint256: certificate?.fingerprint256 }, 'device proved by its certificate');
    }
    const file = result.kind === 'minimal' ? minimalFiles.render(route.file, result) : renderDeviceFile(route.file, result);
    count(result.device.vendor, result.kind);
    return reply.code(200).header('cache-control', 'no-store').type(file.contentType).send(file.body);
  });

  return app;
}

/**
 * A client that collected too many 404s gets 429 for every request, whatever
 * it asks for, until its budget refills: a scanner cannot tell a MAC we have
 * from one we do not. Registered first, so it runs before anything else.
 */
function limitNotFound(app: FastifyInstance, limits: NonNullable<ProvisioningServerOptions['limits']>, clients: ClientAddress, counted: () => void): void {
  // A trusted proxy with unreadable X-Forwarded-For is limited as itself.
  const clientOf = (raw: IncomingMessage) => clients.resolve(raw.socket.remoteAddress, raw.headers['x-forwarded-for']) ?? raw.socket.remoteAddress ?? '';
  app.addHook('onRequest', (request, reply, done) => {
    const wait = limits.provisioningWait(clientOf(request.raw));
    if (wait === 0) return done();
    counted();
    reply.header('retry-after', String(wait));
    void text(reply, 429, 'too many requests');
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 404) limits.provisioningNotFound(clientOf(request.raw));
    done();
  });
}

/** False only when the logger can tell that `level` is off. */
function mayLog(log: Logger, level: string): boolean {
  return log.isLevelEnabled?.(level) ?? true;
}

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${body}\n`);
}
