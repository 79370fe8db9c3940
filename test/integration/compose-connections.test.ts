import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { limitConnections, type ConnectionRefusal } from '../../src/compose-connections';
import { connectFrom, httpGet, settlesWithin as within, type TcpPeer as Peer } from '../helpers/tcp-peer';

/**
 * The connection bounds of papgate's HTTP ports (compose-connections.ts) on a
 * plain Node HTTP server over loopback: a silent connection is closed, a
 * half-sent request head gets 408, and the connections open at once are
 * capped per source and in all. Bounds are small here so the test is quick;
 * every wait is bounded.
 */

describe('HTTP connection bounds (compose-connections.ts)', function () {
  this.timeout(30_000);
  let server: http.Server;
  let port: number;
  const refused: ConnectionRefusal[] = [];
  const peers: Peer[] = [];

  async function start(limits: { maxConnections: number; maxConnectionsPerSource: number; idleMs: number; headersMs: number; requestMs: number }) {
    // GET /slow waits 1.5 s before it answers, as a request waiting on a locked store would.
    server = http.createServer((req, res) => (req.url === '/slow' ? setTimeout(() => res.end('late'), 1500) : res.end('ok')));
    limitConnections(server, limits, {
      keyOf: (address) => (address === '127.0.0.8' ? null : address), // 127.0.0.8 stands for a trusted proxy: counted only in the total
      admit: (address) => address !== '127.0.0.66', // stands for a source over its rate of new connections
      onRefused: (why) => refused.push(why),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }

  async function open(from: string): Promise<Peer> {
    const peer = await connectFrom(port, from);
    peers.push(peer);
    return peer;
  }

  afterEach(async () => {
    for (const p of peers.splice(0)) p.socket.destroy();
    refused.length = 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('closes a connection that sends nothing, and answers 408 to a request head that never ends', async () => {
    await start({ maxConnections: 100, maxConnectionsPerSource: 100, idleMs: 300, headersMs: 500, requestMs: 1000 });
    const silent = await open('127.0.0.2');
    const slow = await open('127.0.0.3');
    slow.socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const keepsTalking = setInterval(() => slow.socket.write('a'), 100); // never idle, never done
    try {
      assert.ok(await within(silent.closed, 10_000), 'a silent connection is closed');
      assert.equal(silent.received(), '', 'without a word');
      assert.ok(await within(slow.closed, 10_000), 'a head that never ends is cut off');
      assert.match(slow.received(), /^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(keepsTalking);
    }
    const phone = await open('127.0.0.4');
    assert.equal(await httpGet(phone), 'HTTP/1.1 200 OK', 'a phone that asks is served');
  });

  it('keeps a connection whose request is still being answered, however long the answer takes', async () => {
    await start({ maxConnections: 100, maxConnectionsPerSource: 100, idleMs: 300, headersMs: 5000, requestMs: 5000 });
    const waiting = await open('127.0.0.2');
    assert.equal(await httpGet(waiting, '/slow'), 'HTTP/1.1 200 OK', 'answered after five idle timeouts');
    const silent = await open('127.0.0.3');
    assert.ok(await within(silent.closed, 10_000), 'a silent connection is still closed');
    // Node's keep-alive timeout (5 s) ends up in the same timeout handler: answered, the connection is idle again.
    assert.ok(await within(waiting.closed, 10_000), 'once answered and silent, the kept-alive connection is closed too');
  });

  it('caps the connections of one source, frees its places when they close, and leaves other sources alone', async () => {
    await start({ maxConnections: 100, maxConnectionsPerSource: 3, idleMs: 60_000, headersMs: 15_000, requestMs: 15_000 });
    const held = [await open('127.0.0.3'), await open('127.0.0.3'), await open('127.0.0.3')];
    const over = await open('127.0.0.3');
    assert.ok(await within(over.closed, 5000), 'the fourth connection of one source is closed at once');
    assert.deepEqual(refused, ['per-source']);
    for (const p of held) assert.equal(await httpGet(p), 'HTTP/1.1 200 OK', 'the three it holds work');
    assert.equal(await httpGet(await open('127.0.0.4')), 'HTTP/1.1 200 OK', 'another source is served');
    for (let i = 0; i < 5; i++) assert.equal(await httpGet(await open('127.0.0.8')), 'HTTP/1.1 200 OK', 'the proxy is not capped on its own');

    held[0]!.socket.destroy();
    await held[0]!.closed;
    let again: Peer | undefined;
    for (let i = 0; i < 50 && again === undefined; i++) {
      // The server counts the place free once it has seen the close: try until it has.
      const p = await open('127.0.0.3');
      if (!(await within(p.closed, 100))) again = p;
    }
    assert.ok(again, 'a place that closed can be taken again');
    assert.equal(await httpGet(again), 'HTTP/1.1 200 OK');
  });

  it('closes at once a connection its policy does not admit, and counts it nowhere', async () => {
    await start({ maxConnections: 100, maxConnectionsPerSource: 100, idleMs: 60_000, headersMs: 15_000, requestMs: 15_000 });
    const refusedPeer = await open('127.0.0.66');
    assert.ok(await within(refusedPeer.closed, 5000), 'closed at once');
    assert.equal(refusedPeer.received(), '');
    assert.deepEqual(refused, [], 'the policy counts its own refusals');
    assert.equal(await httpGet(await open('127.0.0.4')), 'HTTP/1.1 200 OK');
  });

  it('caps the connections of all sources together', async () => {
    await start({ maxConnections: 4, maxConnectionsPerSource: 100, idleMs: 60_000, headersMs: 15_000, requestMs: 15_000 });
    for (let i = 0; i < 4; i++) await open(`127.0.0.${10 + i}`);
    const over = await open('127.0.0.20');
    assert.ok(await within(over.closed, 5000), 'one more than the total is closed');
    assert.ok(refused.includes('total'), refused.join());
  });
});
