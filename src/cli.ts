#!/usr/bin/env node
import { buildProgram, type ServeFlags } from './admin/cli/program';
import { createServices } from './app/services';
import { ConfigError, loadConfig } from './config/config';
import { DEFAULT_POLICY } from './domain/policy';
import { policyFrom, startPapgate } from './main';
import { silentLogger } from './ports/logger';
import { systemClock } from './ports/clock';
import { cryptoRandom } from './ports/random';
import { copyStore, migrateStore, openStore, type StoreSettings } from './open-store';

/** The `papgate` command: admin commands work on the database directly; `serve` starts everything. */

/** The server settings when they are valid; admin commands do not need them to be (serve reports them). */
function serverConfig() {
  try {
    return loadConfig(process.env);
  } catch {
    return null;
  }
}

/** The database settings for `db` (the --db flag): PostgreSQL pool and migration settings from the environment. */
function storeSettings(db: string): StoreSettings {
  const c = serverConfig();
  return c ? { ...c, db } : { db };
}

async function openServices(dbPath: string) {
  const store = await openStore(storeSettings(dbPath));
  const config = serverConfig();
  const policy = config ? policyFrom(config) : DEFAULT_POLICY;
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
  migrate: (db) => migrateStore(storeSettings(db)),
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
