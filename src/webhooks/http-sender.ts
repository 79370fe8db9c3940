import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import ipaddr from 'ipaddr.js';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../ports/webhooks';

export interface HttpSenderOptions {
  /** Until the TCP connection is up. */
  connectTimeoutMs: number;
  /** Until the response has been read (up to the cap) or given up. */
  totalTimeoutMs: number;
  /** Response bytes read at most; the rest is never read. */
  maxResponseBytes: number;
  /** False: refuse targets that resolve to loopback, private, link-local or other non-public addresses. */
  allowPrivateTargets: boolean;
  /** PEM of extra CAs trusted for https receivers, beside the public ones (a receiver with a private CA). */
  extraCaPem?: string;
}

/**
 * The webhook HTTP client over node:http/https: one fresh connection per
 * POST (no pooled sockets to leak between tenants), redirects never followed
 * (node's client does not follow them), bounded in time and in what it reads.
 */
export function createHttpSender(o: HttpSenderOptions): WebhookSender {
  const ca = o.extraCaPem ? [...rootCertificates, o.extraCaPem] : undefined;
  return { post: (req) => post(req, o, ca) };
}

function post(req: WebhookRequest, o: HttpSenderOptions, ca: string[] | undefined): Promise<WebhookResponse> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      resolve({ error: 'the webhook URL does not parse' }); // stored URLs were checked when set: only a damaged row gets here
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return resolve({ error: `refused: ${url.protocol} is not http or https` });
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (!o.allowPrivateTargets && isIP(literal) && !isPublic(literal)) return resolve({ error: `refused: ${literal} is not a public address` });

    let status: number | null = null;
    let settled = false;
    let client: ClientRequest | null = null;
    const finish = (r: WebhookResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      client?.destroy();
      resolve(r);
    };
    const connectTimer = setTimeout(() => finish({ error: `no connection within ${o.connectTimeoutMs} ms` }), o.connectTimeoutMs);
    const totalTimer = setTimeout(() => finish(status !== null ? { status } : { error: `no answer within ${o.totalTimeoutMs} ms` }), o.totalTimeoutMs);

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    client = send(url, {
      method: 'POST',
      agent: false,
      headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      ...(o.allowPrivateTargets ? {} : { lookup: publicOnlyLookup }),
      ...(ca && url.protocol === 'https:' ? { ca } : {}),
    });
    client.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    client.on('response', (res) => {
      status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= o.maxResponseBytes) finish({ status: status! });
      });
      res.on('end', () => finish({ status: status! }));
      res.on('error', () => finish({ status: status! }));
    });
    client.on('error', (e: NodeJS.ErrnoException) => finish(status !== null ? { status } : { error: e.code ?? e.message }));
    client.end(req.body);
  });
}

/** Addresses papgate may post to when private targets are refused: public unicast only. */
function isPublic(address: string): boolean {
  try {
    const parsed = ipaddr.process(address);
    return parsed.range() === 'unicast';
  } catch {
    return false; // not an address: refuse
  }
}

/**
 * dns.lookup that drops non-public answers: checked on the address actually
 * connected to, so a name that resolves to 127.0.0.1 (or is re-pointed
 * there after it was set) is refused too.
 */
const publicOnlyLookup: LookupFunction = (hostname, options: LookupOptions, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const allowed = addresses.filter((a) => isPublic(a.address));
    if (allowed.length === 0) {
      const e: NodeJS.ErrnoException = new Error(`refused: ${hostname} resolves to no public address`);
      e.code = 'refused: not a public address';
      return callback(e, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
    return callback(null, allowed[0]!.address, allowed[0]!.family);
  });
};
