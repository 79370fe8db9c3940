import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Another process holding the SQLite write lock (BEGIN IMMEDIATE) on a file:
 * a child `node -e` with its own better-sqlite3 connection, so the lock is
 * held from outside the test's (and papgate's) event loop. It lets go when
 * told to, or after `maxMs` on its own, and is killed if it lingers.
 */

const HOLDER_SOURCE = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2], { timeout: 10000 });
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
const release = () => { db.exec('ROLLBACK'); db.close(); process.stdout.write('released\\n'); process.exit(0); };
process.stdin.on('data', release);
process.stdin.on('end', release);
setTimeout(release, Number(process.argv[3]));
`;

export interface LockHolder {
  /** True until the child has let go (told to, timed out, or died). */
  holding(): boolean;
  /** Lets go of the lock and waits for the child to exit. */
  release(): Promise<void>;
}

export async function holdWriteLock(dbPath: string, maxMs = 30_000): Promise<LockHolder> {
  const child: ChildProcess = spawn(process.execPath, ['-e', HOLDER_SOURCE, require.resolve('better-sqlite3'), dbPath, String(maxMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let holding = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      holding = false;
      resolve();
    }),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), maxMs + 10_000);
  exited.then(
    () => clearTimeout(killer),
    () => undefined,
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n') && !holding && !out.includes('released')) {
        holding = true;
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before locking: ${err}`)));
  });
  return {
    holding: () => holding,
    release: async () => {
      if (child.exitCode === null && child.signalCode === null) child.stdin!.end('go\n');
      await exited;
    },
  };
}
