/**
 * Child process for test/integration/store-concurrency.test.ts. Opens the
 * shared SQLite file, prints {"ready":true}, then for each JSON line on stdin
 * ({mac, n, policy}) makes n wrong PAP attempts through Authentication.attempt
 * and prints {"outcomes":[...]} (or {"error":"..."}). Exits when stdin closes.
 *
 *   node --require tsx/cjs test/helpers/store-attempt-worker.ts <dbPath>
 */
import { createInterface } from 'node:readline';
import { Authentication } from '../../src/app/authentication';
import type { Policy } from '../../src/domain/policy';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore } from '../../src/store/sqlite';

interface Job {
  mac: string;
  n: number;
  policy: Policy;
}

const WRONG_PAP = 'wrong!'; // never equal to a 6-digit PAP

async function main(dbPath: string): Promise<void> {
  const store = await openSqliteStore(dbPath);
  const reply = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  reply({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    try {
      const job = JSON.parse(line) as Job;
      const auth = new Authentication({ store, clock: systemClock, random: cryptoRandom, policy: job.policy, log: silentLogger });
      const outcomes: string[] = [];
      for (let i = 0; i < job.n; i++) outcomes.push((await auth.attempt(job.mac, WRONG_PAP, '192.0.2.50')).outcome);
      reply({ outcomes });
    } catch (e) {
      reply({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  await store.close();
}

const dbPath = process.argv[2];
if (!dbPath) {
  process.stderr.write('usage: store-attempt-worker.ts <dbPath>\n');
  process.exit(2);
}
main(dbPath).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
