import assert from 'node:assert/strict';
import type { Logger } from '../../src/ports/logger';
import { ACCOUNTS, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { statusOf } from '../helpers/sip-raw-peer';
import { TcpSipClient, registerOverTcp } from '../helpers/sip-tcp-client';
import { freePort } from '../helpers/ports';

/**
 * Attacks on the SIP TCP listener: input that would make papgate buffer
 * without bound, connections that are never used, floods of broken input.
 */

let PORT = 0; // a free port, in each suite's first hook
const HEAD = (extra: string[]) =>
  [
    'OPTIONS sip:papgate@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/TCP 10.9.9.9:5060;branch=z9hG4bKattack',
    'From: <sip:x@y>;tag=1',
    'To: <sip:papgate@127.0.0.1>',
    'Call-ID: attack-1',
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    ...extra,
  ].join('\r\n');
const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('SIP TCP input bounds', function () {
  before(async () => {
    PORT ||= await freePort();
  });
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('answers Content-Length: abc (headers and body in different reads) with 400 and closes, however much follows', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true });
    const c = await TcpSipClient.connect(PORT);
    await c.write(`${HEAD(['Content-Length: abc'])}\r\n`);
    await tick(); // the pause that used to defeat the header-size guard
    await c.write('\r\n');
    for (let i = 0; i < 64 && !c.closed; i++) await c.write(Buffer.alloc(MiB, 0x41));
    assert.ok(await c.until(() => c.closed), 'connection closed');
    assert.equal(statusOf(c.text), 400);
    assert.match(c.text, /Warning: 399 papgate "malformed Content-Length"/);
  });

  it('answers a header block that never ends and a Content-Length over 64 KiB with 513 and closes', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true });
    const endless = await TcpSipClient.connect(PORT);
    await endless.write(`${HEAD([])}\r\n`);
    for (let i = 0; i < 4096 && !endless.closed; i++) await endless.write(`X-Pad-${i}: ${'p'.repeat(100)}\r\n`);
    assert.ok(await endless.until(() => endless.closed), 'connection closed');
    assert.equal(statusOf(endless.text), 513);
    const lying = await TcpSipClient.connect(PORT);
    await lying.write(`${HEAD(['Content-Length: 99999999'])}\r\n\r\nxyz`);
    assert.ok(await lying.until(() => lying.closed), 'connection closed');
    assert.equal(statusOf(lying.text), 513);
  });

  it('stays within 50 MB of RSS while >= 1 GiB of hostile TCP input streams in', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true });
    const big = 'b'.repeat(60 * 1024);
    // a response to nobody with a 60 KiB body: framed, parsed and dropped, the connection stays open
    const strayResponse = Buffer.from(
      [
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/TCP 10.9.9.9;branch=z9hG4bKnone',
        'From: <sip:x@y>;tag=1',
        'To: <sip:z@y>;tag=2',
        'Call-ID: stray',
        'CSeq: 1 OPTIONS',
        `Content-Length: ${big.length}`,
        '',
        big,
      ].join('\r\n'),
      'latin1',
    );
    const hostile = [
      Buffer.from(`${HEAD(['Content-Length: abc'])}\r\n\r\n${big}`, 'latin1'), // refused, closed
      Buffer.from(`${HEAD([])}\r\n${'X-Endless: yes\r\n'.repeat(4500)}`, 'latin1'), // no end of headers
      Buffer.from(`${HEAD(['Content-Length: 0', 'l: 5'])}\r\n\r\n${big}`, 'latin1'), // two lengths
    ];
    let sent = 0;
    let connections = 0;
    const target = 1024 * MiB;
    // RSS is sampled from the start; the figure after a first 64 MiB shows the heap's working size
    const start = process.memoryUsage().rss;
    let afterWarmUp = 0;
    let peak = start;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage().rss;
      if (afterWarmUp === 0 && sent >= 64 * MiB) afterWarmUp = rss;
      peak = Math.max(peak, rss);
    }, 50);
    const flood = async (lane: number) => {
      while (sent < target) {
        const c = await TcpSipClient.connect(PORT, `127.0.0.${10 + lane}`);
        connections++;
        if (lane < 4) {
          for (let i = 0; i < 256 && !c.closed && sent < target; i++) {
            await c.write(strayResponse);
            sent += strayResponse.length;
          }
        } else {
          const payload = hostile[connections % hostile.length]!;
          await c.write(payload.subarray(0, 300));
          await c.write(payload.subarray(300));
          sent += payload.length;
          await c.until(() => c.closed, 5000);
        }
        c.close();
      }
    };
    try {
      await Promise.all([0, 1, 2, 3, 4, 5].map(flood));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - start) / MiB;
    console.log(
      `      [figure] hostile TCP input: ${(sent / MiB).toFixed(0)} MiB over ${connections} connections; RSS ${(start / MiB).toFixed(0)} MB at start, ${(afterWarmUp / MiB).toFixed(0)} MB after 64 MiB, peak ${(peak / MiB).toFixed(0)} MB (+${growthMb.toFixed(1)} MB)`,
    );
    assert.ok(sent >= target);
    assert.ok(growthMb < 50, `RSS grew by ${growthMb.toFixed(1)} MB`);
    assert.equal(await registerOverTcp(PORT, { username: ACCOUNTS[0]!.username, password: ACCOUNTS[0]!.password }), 200, 'still registers');
  });
});

describe('SIP TCP connection limits', function () {
  before(async () => {
    PORT ||= await freePort();
  });
  this.timeout(60_000);
  let h: Harness | undefined;
  const open: TcpSipClient[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await h?.stop();
    h = undefined;
  });

  it('idle connections from one source do not starve another: over the per-source cap they are closed at once', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true, tcpLimits: { maxConnections: 40, maxConnectionsPerSource: 10 } });
    for (let i = 0; i < 60; i++) open.push(await TcpSipClient.connect(PORT, '127.0.0.1'));
    await Promise.all(open.map((c) => c.until(() => c.closed, 300)));
    const alive = open.filter((c) => !c.closed).length;
    assert.equal(alive, 10, 'only the per-source cap stays open');
    assert.equal(await registerOverTcp(PORT, { username: ACCOUNTS[1]!.username, password: ACCOUNTS[1]!.password, localAddress: '127.0.0.2' }), 200);
  });

  it('refuses connections over the total cap, whichever their sources', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true, tcpLimits: { maxConnections: 6, maxConnectionsPerSource: 4 } });
    for (let i = 0; i < 12; i++) open.push(await TcpSipClient.connect(PORT, `127.0.0.${20 + (i % 3)}`));
    await Promise.all(open.map((c) => c.until(() => c.closed, 300)));
    assert.equal(open.filter((c) => !c.closed).length, 6);
  });

  it('closes a connection that never sent a valid message after the short idle timeout, not one that did', async () => {
    h = await startHarness({ port: PORT, udp: false, tcp: true, tcpLimits: { idleNewMs: 300, idleMs: 60_000 } });
    const silent = await TcpSipClient.connect(PORT);
    const talker = await TcpSipClient.connect(PORT);
    open.push(silent, talker);
    await talker.write(`${HEAD(['Content-Length: 0'])}\r\n\r\n`);
    assert.ok(await talker.response(200));
    assert.ok(await silent.until(() => silent.closed, 10_000), 'the silent connection is closed');
    assert.equal(talker.closed, false, 'the connection that sent a valid request is kept');
  });

  it('rate-limits the log lines about malformed input, with a count of what was left out', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log: Logger = {
      debug() {},
      warn() {},
      error() {},
      info(obj) {
        if (typeof obj === 'object') lines.push(obj as Record<string, unknown>);
      },
      child() {
        return log;
      },
    };
    h = await startHarness({ port: PORT, udp: false, tcp: true, log });
    const started = Date.now();
    for (let i = 0; i < 300; i++) {
      const c = await TcpSipClient.connect(PORT);
      await c.write('garbage without end of headers\r\n\r\n');
      await c.until(() => c.closed, 2000);
      c.close();
    }
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    const malformed = () => lines.filter((l) => l.problem !== undefined);
    assert.ok(malformed().length <= 10 * seconds, `${malformed().length} lines in ${seconds} s`);
    await new Promise((r) => setTimeout(r, 1100)); // into the next window: the count of dropped lines comes with the next line
    const c = await TcpSipClient.connect(PORT);
    await c.write('more garbage\r\n\r\n');
    await c.until(() => c.closed, 2000);
    c.close();
    assert.ok(
      malformed().some((l) => Number(l.suppressedBefore) > 0),
      'a line reports how many were suppressed',
    );
  });
});
