import net from 'node:net';

/** A raw TCP client on loopback from a chosen address, for tests of what a server does with connections. */

export interface TcpPeer {
  socket: net.Socket;
  /** Everything the server sent, as text. */
  received: () => string;
  closed: Promise<void>;
}

export function connectFrom(port: number, from: string): Promise<TcpPeer> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', () => undefined); // a reset is one way of being closed
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A whole GET of `path` on the peer's connection; resolves with the status line. */
export function httpGet(peer: TcpPeer, path = '/'): Promise<string> {
  const before = peer.received().length;
  peer.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      const line = peer.received().slice(before).split('\r\n')[0] ?? '';
      if (line.startsWith('HTTP/1.1 ')) return resolve(line);
      if (Date.now() - started > 5000 || peer.socket.destroyed) return reject(new Error(`no answer (${line})`));
      setTimeout(look, 10);
    };
    look();
  });
}
