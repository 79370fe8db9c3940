import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/**
 * Part of the composition root: what the connections of an HTTP port (the
 * provisioning port, the admin port) may hold. Node's HTTP server by itself
 * keeps a connection that never sends a byte open for ever, and takes any
 * number of connections from one address: one host could hold every
 * descriptor and megabytes of memory without sending a request. Here a
 * silent connection is closed, and the connections open at once are capped
 * per source and in all (docs/limits.md).
 */

export interface HttpConnectionLimits {
  /** Connections open at once in this process, all sources together. */
  maxConnections: number;
  /** Connections open at once from one source (keyOf); uncapped sources only count towards the total. */
  maxConnectionsPerSource: number;
  /** A connection with nothing sent or received for this long is closed, unless a request of it is being answered (an idle keep-alive has its own timeout). */
  idleMs: number;
  /** The request's head within this, the whole request within requestMs, else 408 and the connection closed. */
  headersMs: number;
  requestMs: number;
}

export type ConnectionRefusal = 'total' | 'per-source';

export interface ConnectionPolicy {
  /** The source a peer address counts as (one IPv4 address, one IPv6 /64), or null for a peer never capped on its own (a trusted proxy, an exempt address). */
  keyOf: (address: string) => string | null;
  /** Whether a new connection of this peer may be taken at all (a rate per source, counted by the caller); none: always. */
  admit?: (address: string) => boolean;
  /** A connection over the total or the per-source cap was closed. */
  onRefused: (why: ConnectionRefusal) => void;
}

/**
 * Applies `limits` to `server` (before it listens). A connection over a cap,
 * or one `policy.admit` refuses, is closed at once, before TLS or HTTP read
 * a byte of it.
 */
export function limitConnections(server: HttpServer | HttpsServer, limits: HttpConnectionLimits, policy: ConnectionPolicy): void {
  const { keyOf, admit, onRefused } = policy;
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => onRefused('total'));
  server.timeout = limits.idleMs;
  server.headersTimeout = limits.headersMs;
  server.requestTimeout = limits.requestMs;
  // How often Node looks for requests over those timeouts: they end within a second of it, not 30 s later.
  // (Read when the server starts listening; Node's types know it only as an option.)
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.min(1000, limits.headersMs);

  // A request being answered (its handler waiting on the store) is not idle: the store's own timeouts bound it.
  // Node keeps the response being written on its socket (`_httpMessage`, what its own timeout handling
  // reads) until it is finished. Asked only here, when a socket times out: nothing is added to each
  // request. Listening on each response instead (once 'close', or a second 'finish') made every response
  // outlive young-generation collections in a process that had run bulk imports: a third more CPU per
  // request (bench/README.md).
  // Without a listener Node would destroy every socket that times out, mid-answer or not.
  server.on('timeout', (socket: Socket & { _httpMessage?: ServerResponse | null }) => {
    if (!socket._httpMessage) socket.destroy();
  });

  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    if (admit && !admit(address)) {
      socket.destroy();
      return;
    }
    const key = keyOf(address);
    if (key === null) return;
    const n = open.get(key) ?? 0;
    if (n >= limits.maxConnectionsPerSource) {
      onRefused('per-source');
      socket.destroy();
      return;
    }
    open.set(key, n + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
}
