import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

  it('two test runs at once never get overlapping blocks (lock files per 100 ports)', async function () {
    this.timeout(30_000);
    const start = 30_000; // both processes start at the same port: without the locks they would get the same block
    const script =
      "require('./test/helpers/ports').freePortBlock(250).then((b) => { console.log(b); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); })";
    const holder = (env: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
      const base = new Promise<number>((resolve, reject) => {
        child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', (code) => reject(new Error(`port holder exited (${code})`)));
      });
      return { child, base };
    };
    const a = holder({ PAPGATE_TEST_PORT_START: String(start) });
    try {
      const baseA = await a.base;
      const b = holder({ PAPGATE_TEST_PORT_START: String(start) });
      try {
        const baseB = await b.base;
        assert.ok(baseB + 249 < baseA || baseB > baseA + 249, `blocks ${baseA}+250 and ${baseB}+250 overlap`);
      } finally {
        b.child.stdin!.end();
      }
    } finally {
      a.child.stdin!.end();
    }
  });

  it('lays named ports out in one block', async () => {
    const p = await portLayout({ sip: 0, phone: 10, rtpMin: 100 });
    assert.equal(p.phone - p.sip, 10);
    assert.equal(p.rtpMin - p.sip, 100);
  });
});
