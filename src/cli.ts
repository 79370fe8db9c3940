#!/usr/bin/env node
import { buildProgram, type ServeFlags } from './admin/cli/program';
import { createServices } from './app/services';
import { WorkerPool, answerMetricsRequests, isClusterWorker, startMessageFromPrimary, workerId } from './cluster';
import { ConfigError, loadConfig, type Config } from './config/config';
import { policyFrom, startPapgate, startProvisioningWorker } from './main';
import { createLogger } from './observability/logger';
import { silentLogger } from './ports/logger';
import { systemClock } from './ports/clock';
import { cryptoRandom } from './ports/random';
import { copyStore, migrateStore, openStore } from './open-store';
import { shutdownOnce } from './shutdown';

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
  let overrides: Record<string, string | undefined> = flags;
  if (isClusterWorker()) overrides = { ...flags, ...(await startMessageFromPrimary()).overrides };
  const config = configOrExit(overrides);
  const stops = isClusterWorker() ? await serveWorker(config) : await servePrimary(config);
  const shutdown = shutdownOnce(
    stops,
    (code) => process.exit(code),
    (message) => process.stderr.write(`papgate: ${message}\n`),
  );
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // A worker whose primary is gone has nobody to hand it connections: it ends too.
  if (isClusterWorker()) process.on('disconnect', shutdown);
}

/** SIP, admin and portal here; provisioning here too with one worker, else in PAPGATE_WORKERS processes. */
async function servePrimary(config: Config): Promise<(() => Promise<void>)[]> {
  const log = createLogger({ level: config.logLevel });
  const pooled = config.workers > 1;
  const app = await startPapgate(config, { log, provisioning: !pooled });
  if (!pooled) return [app.stop];
  const pool = new WorkerPool({
    count: config.workers,
    log: log.child({ part: 'workers' }),
    overrides: {
      ...(app.sipPort === null ? {} : { PAPGATE_SIP_PORT: String(app.sipPort) }),
      ...(app.sipTlsPort === null ? {} : { PAPGATE_SIP_TLS_PORT: String(app.sipTlsPort) }),
    },
  });
  try {
    await pool.start();
  } catch (e) {
    await pool.stop();
    await app.stop();
    throw e;
  }
  app.metrics.addProcesses(() => pool.collectMetrics()); // /metrics sums the workers' counters in
  log.info({ workers: config.workers, pids: pool.pids(), provisioningUrl: app.provisioningUrl }, 'provisioning workers started');
  return [() => pool.stop(), app.stop];
}

async function serveWorker(config: Config): Promise<(() => Promise<void>)[]> {
  const log = createLogger({ level: config.logLevel }).child({ worker: workerId() });
  const worker = await startProvisioningWorker(config, config.sipPort, { log });
  answerMetricsRequests(() => worker.metrics.json());
  return [worker.stop];
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
