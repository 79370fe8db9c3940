import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpuMsOf, meterTree, processTree } from '../../bench/cpu';

/** The benchmarks' CPU meter reads real processes: a busy child and its own child. */
describe('bench CPU meter', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('finds grandchildren and counts the CPU they burn', async () => {
    // A shell that runs a busy node grandchild for a bounded number of loop turns, then waits.
    const busy = `let x=0;for(let i=0;i<3e8;i++)x+=i;console.log('done');setTimeout(()=>{},60000)`;
    child = spawn('sh', ['-c', `"${process.execPath}" -e "${busy}"; sleep 60`], { stdio: ['ignore', 'pipe', 'ignore'] });
    // The meter reads the tree when it starts: wait (bounded) until the node grandchild is in it.
    for (let i = 0; i < 200 && processTree(child.pid!).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const meter = meterTree(child.pid!);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('busy child did not finish within 15 s')), 15_000);
      child!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('done')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const tree = processTree(child.pid!);
    assert.ok(tree.length >= 2, `the shell and its node child: ${tree.join(',')}`);
    const total = meter.stop();
    assert.ok(total > 0, 'the busy grandchild used CPU');
    assert.ok(meter.systemMs() >= 0 && meter.systemMs() <= total, `the kernel's part is part of it: ${meter.systemMs()} of ${total} ms`);
  });

  it('counts nothing for a process that is gone', () => {
    assert.equal(cpuMsOf([2 ** 22 + 12345]), 0);
  });
});
