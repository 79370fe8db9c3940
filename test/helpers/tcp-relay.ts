import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP relay in front of the server: the test can cut it (server gone) or make it swallow bytes (server hung). */
export class Relay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  mode: 'forward' | 'blackhole' = 'forward';
  port = 0;

  constructor(private readonly target: URL) {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {
        /* the test cuts connections on purpose */
      });
      if (this.mode === 'blackhole') return; // accept, never answer
      const upstream = connect(Number(target.port), target.hostname);
      this.sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  /** Listens on `port` (0: any free one; the same port again after a stop). */
  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  url(): string {
    const u = new URL(this.target.toString());
    u.port = String(this.port);
    return u.toString();
  }

  /** Breaks every open connection (the mode decides what new ones get). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
