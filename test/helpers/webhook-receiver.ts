import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One POST as the receiver got it, with what it answered. */
export interface Received {
  n: number;
  headers: IncomingMessage['headers'];
  body: string;
  answered: number | 'hung';
}

/** What the receiver does with request n (1-based). */
export type Behaviour = (n: number, body: string) => { status: number; location?: string } | 'hang';

/**
 * A real webhook receiver on loopback (OS-assigned port): records every
 * POST and answers as `behaviour` says. close() cuts hanging connections.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    public behaviour: Behaviour,
  ) {}

  /** `tls`: PEM certificate and key, and the receiver speaks https. */
  static async start(behaviour: Behaviour = () => ({ status: 204 }), path = '/hook', tls?: { cert: string; key: string }): Promise<WebhookReceiver> {
    let self: WebhookReceiver | null = null;
    const handler = (req: IncomingMessage, res: ServerResponse) => self!.handle(req, res);
    const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new WebhookReceiver(server, `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`, behaviour);
    return self;
  }

  /** The bodies answered with a 2xx, parsed. */
  accepted(): Record<string, unknown>[] {
    return this.received.filter((r) => typeof r.answered === 'number' && r.answered < 300).map((r) => JSON.parse(r.body) as Record<string, unknown>);
  }

  /** Resolves once `check` holds (polled), rejects after `ms`. */
  async waitFor(check: () => boolean, ms = 20_000, what = 'the receiver to get what the test waits for'): Promise<void> {
    const until = Date.now() + ms;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what} (got ${this.received.length} requests)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const n = this.received.length + 1;
      const answer = req.method === 'POST' ? this.behaviour(n, body) : { status: 405 };
      this.received.push({ n, headers: req.headers, body, answered: answer === 'hang' ? 'hung' : answer.status });
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
      res.end('receiver says hello');
    });
  }
}

/** What a receiver should do: recompute the HMAC over `${t}.${body}` and compare in constant time. */
export function signatureValid(secret: string, header: string | string[] | undefined, body: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}
