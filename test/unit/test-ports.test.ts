import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { freePort, freePortBlock, portLayout } from '../helpers/ports';

// The helpers every network test takes its ports from.
describe('test ports from the OS', () => {
  it('hands out even, non-overlapping blocks, however many a run asks for', async () => {
    const blocks: Array<[number, number]> = [];
    for (const size of [1000, 40, 7, 220, 1000, 3, 600]) {
      const base = await freePortBlock(size);
      assert.equal(base % 2, 0, `even base ${base}`);
      assert.ok(base >= 1024 && base + size - 1 < 32_768, `below the ephemeral range: ${base}+${size}`);
      for (const [a, b] of blocks) assert.ok(base + size - 1 < a || base > b, `${base}+${size} overlaps ${a}-${b}`);
      blocks.push([base, base + size - 1]);
    }
  });

  it('a port it hands out binds for both TCP and UDP', async () => {
    const port = await freePort();
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '127.0.0.1', () => resolve());
    });
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => udp.close(() => r()));
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  it('skips ports something already holds', async () => {
    const base = await freePortBlock(4);
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(base + 4 + 2, '0.0.0.0', () => resolve()));
    try {
      const next = await freePortBlock(10); // would start at base + 4 and include the held port
      assert.ok(next > base + 6 || next + 9 < base + 6, `block ${next}+10 avoids the held ${base + 6}`);
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  it('lays named ports out in one block', async () => {
    const p = await portLayout({ sip: 0, phone: 10, rtpMin: 100 });
    assert.equal(p.phone - p.sip, 10);
    assert.equal(p.rtpMin - p.sip, 100);
  });
});
