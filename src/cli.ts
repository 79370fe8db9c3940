#!/usr/bin/env node
import { buildProgram, type ServeFlags } from './admin/cli/program';
import { createServices } from './app/services';
import { ConfigError, loadConfig } from './config/config';
import { DEFAULT_POLICY } from './domain/policy';
import { policyFrom, startPapgate } from './main';
import { silentLogger } from './ports/logger';
import { systemClock } from './ports/clock';
import { cryptoRandom } from './ports/random';
import { openSqliteStore } from './store/sqlite';

/** The `papgate` command: admin commands work on the database directly; `serve` starts everything. */

async function openServices(dbPath: string) {
  const store = await openSqliteStore(dbPath);
  let policy = DEFAULT_POLICY;
  try {
    policy = policyFrom(loadConfig(process.env));
  } catch {
    /* admin commands do not need the server settings to be valid; serve reports them */
  }
  const services = createServices({ store, clock: systemClock, random: cryptoRandom, policy, log: silentLogger });
  return { services, close: () => store.close() };
}

async function serve(flags: ServeFlags): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`papgate: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await startPapgate(config);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

buildProgram({
  openServices,
  serve,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
})
  .parseAsync(process.argv)
  .catch((e: Error) => {
    process.stderr.write(`papgate: ${e.message}\n`);
    process.exit(1);
  });
