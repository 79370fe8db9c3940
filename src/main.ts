import { createAdminServer } from './admin/rest/server';
import { registerPortal } from './admin/web/portal';
import type { AppDeps } from './app/deps';
import { createServices, type AdminServices } from './app/services';
import type { Config } from './config/config';
import { createLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { systemClock, type Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { MediaEngine } from './ports/media';
import { cryptoRandom, pooledRandom } from './ports/random';
import type { Signalling } from './ports/signalling';
import type { Store } from './ports/store';
import { describeDb, keepsDevicesInMemory, openStore } from './open-store';
import { startCallService, type RunningCalls } from './compose-calls';
import { lockoutEndAnnouncer } from './compose-lockout';
import { policyFrom, sourceLimitsFrom } from './compose-policy';
import { storeWritable } from './compose-readiness';
import { startWebhooks } from './compose-webhooks';
import { adminTls, listen, provisioningService, provisioningTls, shownUrl, sourceOf } from './compose-provisioning';
import { limitConnections } from './compose-connections';
import { httpsOptions } from './tls-files';

/**
 * The admin port's request head within this; a whole request (a CSV import
 * of many devices) within ADMIN_REQUEST_MS; a connection that sends nothing
 * for ADMIN_IDLE_MS, with no request of it being answered, is closed.
 */
const ADMIN_HEADERS_MS = 15_000;
const ADMIN_REQUEST_MS = 300_000;
const ADMIN_IDLE_MS = 120_000;

export { policyFrom, sourceLimitsFrom } from './compose-policy';

/**
 * The composition root: picks the adapters the Config names, wires them to
 * the use cases, starts the listeners, and stops everything in reverse order.
 */

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
  /** Wraps the opened store (tests put a store that hangs or fails in front of the real one). */
  wrapStore?: (store: Store) => Store;
  /** False when worker processes serve provisioning HTTP (startProvisioningWorker): this process does not listen on its port. */
  provisioning?: boolean;
}

export interface PapgateInstance {
  config: Config;
  store: Store;
  services: AdminServices;
  metrics: Metrics;
  provisioningUrl: string;
  adminUrl: string;
  /** The SIP port in use, or null when signalling is off. */
  sipPort: number | null;
  /** The SIP over TLS port in use, or null when it is off. */
  sipTlsPort: number | null;
  signalling: Signalling | null;
  media: MediaEngine | null;
  stop(): Promise<void>;
}

export async function startPapgate(config: Config, opts: StartOptions = {}): Promise<PapgateInstance> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const metrics = new Metrics();
  // Devices in memory where phones are answered: here unless the workers answer them.
  const devicesInMemory = opts.provisioning !== false && keepsDevicesInMemory(config.dbDevicesInMemory, true);
  const opened = await openStore(config, { log: log.child({ part: 'store' }), checkpointMs: 250, devicesInMemory });
  const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const deps: AppDeps = { store, clock, random: pooledRandom(cryptoRandom), policy: policyFrom(config), log };
  const lockoutEnds = lockoutEndAnnouncer(store, clock, log);
  // One Authentication for every surface: each attempt is counted and may schedule a lock-out end's announcement.
  const services = createServices(deps, (outcome, a) => {
    metrics.papAttempts.inc({ outcome });
    lockoutEnds.onAttempt(outcome, a);
  });
  const limits = sourceLimitsFrom(config, clock, metrics);
  const stops: (() => Promise<unknown>)[] = [() => store.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };

  try {
    let calls: RunningCalls | null = null;
    if (config.signalling !== 'off') {
      calls = await startCallService(config, { deps, metrics, limits, auth: services.authentication });
      stops.push(() => calls!.stop());
      lockoutEnds.attach(calls.signalling);
    }

    stops.push(lockoutEnds.stop);
    const webhooks = startWebhooks(config, deps);
    stops.push(() => webhooks.stop());

    const tlsReload = (files: ReturnType<typeof adminTls>) => ({ files, intervalMs: config.tlsReloadSeconds * 1000, log });
    // Workers read the certificate themselves; bad files must still stop start-up here, with their names.
    if (opts.provisioning === false) httpsOptions(provisioningTls(config), 0);
    const provisioningUrl =
      opts.provisioning === false
        ? shownUrl(config.provisioningAddress, config.provisioningPort, provisioningTls(config) ? 'https' : 'http')
        : await listen(
            provisioningService(config, deps, metrics, log, calls?.sipPort ?? config.sipPort, limits, calls?.sipTlsPort),
            config.provisioningAddress,
            config.provisioningPort,
            stops,
            tlsReload(provisioningTls(config)),
          );

    const adminServer = createAdminServer({
      services,
      metrics,
      log: log.child({ part: 'admin' }),
      adminToken: config.adminToken ?? null,
      extraRoutes: registerPortal,
      https: httpsOptions(adminTls(config), config.tlsHandshakeSeconds * 1000),
      readiness: async () => ({
        store: await storeWritable(store),
        ...(calls ? { sip: calls.signalling.isReady?.() ?? true, media: calls.media.isReady?.() ?? true } : {}),
      }),
    });
    limitConnections(
      adminServer.server,
      {
        maxConnections: config.adminMaxConnections,
        maxConnectionsPerSource: config.adminMaxConnectionsPerSource,
        idleMs: ADMIN_IDLE_MS,
        headersMs: ADMIN_HEADERS_MS,
        requestMs: ADMIN_REQUEST_MS,
      },
      {
        keyOf: (address) => sourceOf(limits, address),
        onRefused: (why) => metrics.rateLimited.inc({ limit: why === 'total' ? 'admin_connections' : 'admin_connections_source', action: 'dropped' }),
      },
    );
    const adminUrl = await listen(adminServer, config.adminAddress, config.adminPort, stops, tlsReload(adminTls(config)));

    log.info(
      { provisioningUrl, adminUrl, sipPort: calls?.sipPort ?? null, sipTlsPort: calls?.sipTlsPort ?? null, db: describeDb(config.db) },
      'papgate started',
    );
    return {
      config,
      store,
      services,
      metrics,
      provisioningUrl,
      adminUrl,
      sipPort: calls?.sipPort ?? null,
      sipTlsPort: calls?.sipTlsPort ?? null,
      signalling: calls?.signalling ?? null,
      media: calls?.media ?? null,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface ProvisioningWorker {
  provisioningUrl: string;
  metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * One worker process of `papgate serve` (src/cluster.ts): only the
 * provisioning HTTP service, on its own store connection. Everything that
 * must be exact across processes (attempts, secrets, trust windows) is
 * decided inside store transactions, so workers share nothing else; rate
 * limits are counted per process. `sipPort` is the primary's bound SIP port
 * (what minimal files announce). Workers never checkpoint the WAL.
 */
export async function startProvisioningWorker(config: Config, sipPort: number, opts: StartOptions = {}): Promise<ProvisioningWorker> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const store = await openStore(config, { log: log.child({ part: 'store' }), devicesInMemory: keepsDevicesInMemory(config.dbDevicesInMemory, false) });
  const deps: AppDeps = { store, clock, random: pooledRandom(cryptoRandom), policy: policyFrom(config), log };
  const stops: (() => Promise<unknown>)[] = [() => store.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    const metrics = new Metrics();
    const limits = sourceLimitsFrom(config, clock, metrics);
    const server = provisioningService(config, deps, metrics, log, sipPort, limits);
    const provisioningUrl = await listen(server, config.provisioningAddress, config.provisioningPort, stops, {
      files: provisioningTls(config),
      intervalMs: config.tlsReloadSeconds * 1000,
      log,
    });
    return { provisioningUrl, metrics, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
