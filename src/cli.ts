#!/usr/bin/env node
import { buildProgram, type ServeFlags } from './admin/cli/program';
import { createServices } from './app/services';
import { ConfigError, loadConfig } from './config/config';
import { policyFrom, startPapgate } from './main';
import { silentLogger } from './ports/logger';
import { systemClock } from './ports/clock';
import { cryptoRandom } from './ports/random';
import { copyStore, migrateStore, openStore } from './open-store';

/** The `papgate` command: admin commands work on the database directly; `serve` starts everything. */

async function openServices(dbPath: string) {
  // Admin commands apply the same settings as the server: an invalid setting is an error here too.
  const config = configOrExit({ PAPGATE_DB: dbPath });
  const store = await openStore(config);
  const policy = policyFrom(config);
  const services = createServices({ store, clock: systemClock, random: cryptoRandom, policy, log: silentLogger });
  return { services, close: () => store.close() };
}

/** The configuration, or exit code 2 with a message naming each invalid variable. */
function configOrExit(overrides: Record<string, string | undefined>) {
  try {
    return loadConfig(process.env, overrides);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`papgate: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = configOrExit(flags);
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
  migrate: (db) => migrateStore(configOrExit({ PAPGATE_DB: db })),
  copy: (from, to) => copyStore(from, to),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
})
  .parseAsync(process.argv)
  .catch((e: Error) => {
    process.stderr.write(`papgate: ${e.message}\n`);
    process.exit(1);
  });
