import type { Socket } from 'node:net';
import type { Provisioning } from '../app/provisioning';
import { isPapgateError } from '../domain/errors';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../ports/logger';
import { verifiedClientCertificate } from './client-certificate';
import type { MinimalFiles } from './minimal-files';
import type { Route } from './routes';
import { renderCommonFile, renderDeviceFile } from './templates';

/**
 * What the provisioning service answers a request for a file, whoever
 * carries it to the phone: fastify's route, or the direct path in front of
 * fastify (server.ts). Both send an Answer the same way: the status, these
 * headers, `cache-control: no-store`, and the body (none for HEAD).
 */
export interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** Extra headers (retry-after, allow). */
  headers?: Record<string, string>;
  /**
   * The request presented an identity secret that is not the device's: like
   * a 404, it spends one of the client's misses (docs/limits.md), so guessing
   * secrets for a known MAC is limited as a MAC scan is. Never sent.
   */
  secretRefused?: true;
}

export type Decision = 'full' | 'minimal' | 'unknown' | 'common' | 'rejected' | 'unavailable' | 'error';

export const NOT_FOUND = 'not found';

/** A short plain-text answer (errors and refusals). */
export function textAnswer(status: number, body: string, headers?: Record<string, string>): Answer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${body}\n`, ...(headers ? { headers } : {}) };
}

export interface AnswerDeps {
  provisioning: Provisioning;
  minimalFiles: MinimalFiles;
  log: Logger;
  metrics: Metrics;
  /** A verified client certificate can prove the device (mutual TLS with a device CA). */
  deviceCertificates: boolean;
}

/** The parts of a request the answer depends on. */
export interface FileRequest {
  method?: string | undefined;
  socket: Socket;
  /** The client's address as server.ts resolved it (X-Forwarded-For from a trusted proxy); null: it cannot be told. */
  ip: string | null;
}

export class FileAnswers {
  constructor(private readonly d: AnswerDeps) {}

  count(vendor: string, decision: Decision): void {
    this.d.metrics.provisioningRequests.inc({ vendor, decision });
  }

  /** The answer to a request routed to a device's or a common file. Throws only on an unexpected error (then `failed`). */
  async file(route: Exclude<Route, { kind: 'reject' }>, request: FileRequest): Promise<Answer> {
    if (route.kind === 'common') {
      this.count(route.vendors[0]!, 'common');
      return { status: 200, ...renderCommonFile(route.file) };
    }

    const ip = request.ip;
    if (ip === null) {
      this.count('none', 'rejected');
      return textAnswer(400, 'cannot tell the client address (X-Forwarded-For)');
    }

    const certificate = this.d.deviceCertificates ? verifiedClientCertificate(request.socket) : null;
    let result;
    try {
      result = await this.d.provisioning.handle({
        mac: route.mac,
        ip,
        secret: route.secret,
        vendors: route.vendors,
        certificateMacs: certificate?.macs,
        readOnly: request.method === 'HEAD', // HEAD must not mint a secret or mark the device
      });
    } catch (e) {
      if (isPapgateError(e) && e.code === 'unavailable') {
        this.d.metrics.storeErrors.inc({ surface: 'provisioning' });
        this.count('none', 'unavailable');
        this.d.log.warn({ error: e.message }, 'store unavailable: provisioning refused');
        return textAnswer(503, 'service unavailable', { 'retry-after': '30' });
      }
      throw e;
    }
    // Same answer for an unknown MAC and a file of another vendor's format: no hint either way.
    if (result.kind === 'unknown' || !route.vendors.includes(result.device.vendor)) {
      this.count('unknown', 'unknown');
      return textAnswer(404, NOT_FOUND);
    }
    if (result.kind === 'full' && result.reason === 'certificate') {
      this.d.log.info({ mac: route.mac, ip, subject: certificate?.subject, fingerprint256: certificate?.fingerprint256 }, 'device proved by its certificate');
    }
    const file = result.kind === 'minimal' ? this.d.minimalFiles.render(route.file, result) : renderDeviceFile(route.file, result);
    this.count(result.device.vendor, result.kind);
    // A valid secret always decides (rule 2 comes first): any other answer to a request with one means it was not the device's.
    if (route.secret !== null && (result.kind === 'minimal' || result.reason !== 'secret')) return { status: 200, ...file, secretRefused: true };
    return { status: 200, ...file };
  }

  /** The answer to a request that failed unexpectedly: logged and counted, a bare 500 to the phone. */
  failed(err: unknown): Answer {
    this.d.log.error({ error: err instanceof Error ? err.message : String(err) }, 'provisioning request failed');
    this.count('none', 'error');
    return textAnswer(500, 'internal error');
  }
}
