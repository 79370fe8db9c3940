import { createAdminServer } from './admin/rest/server';
import { registerPortal } from './admin/web/portal';
import { Authentication, type AttemptListener } from './app/authentication';
import { AuthCallHandler } from './app/call-handler';
import { checkSyncToRegistration, LockoutEndNotifier } from './app/lockout-end-notifier';
import type { AppDeps } from './app/deps';
import { PromptLibrary, shippedPromptsDir } from './app/prompt-library';
import { createServices, type AdminServices } from './app/services';
import { SipGate } from './app/sip-gate';
import { SourceLimits } from './app/source-limits';
import type { Config } from './config/config';
import type { Policy } from './domain/policy';
import { createLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { systemClock, type Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { MediaEngine } from './ports/media';
import { cryptoRandom } from './ports/random';
import type { CallHandler, Signalling } from './ports/signalling';
import type { Store } from './ports/store';
import { describeDb, openStore } from './open-store';
import { startCalls } from './compose-calls';
import { startWebhooks } from './compose-webhooks';
import { TimedOut, withTimeout } from './app/with-timeout';
import { adminTls, listen, provisioningService, provisioningTls, shownUrl } from './compose-provisioning';
import { httpsOptions } from './tls-files';

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
  signalling: Signalling | null;
  media: MediaEngine | null;
  stop(): Promise<void>;
}

export function policyFrom(c: Config): Policy {
  return {
    maxFailures: c.maxFailures,
    lockoutMs: c.lockoutSeconds * 1000,
    maxLockouts: c.maxLockouts,
    suspendMs: c.suspendSeconds * 1000,
    trustMs: c.trustSeconds * 1000,
  };
}

export async function startPapgate(config: Config, opts: StartOptions = {}): Promise<PapgateInstance> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const metrics = new Metrics();
  const opened = await openStore(config, { log: log.child({ part: 'store' }), checkpointMs: 2000 });
  const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const deps: AppDeps = { store, clock, random: cryptoRandom, policy: policyFrom(config), log };
  const lockoutEnds = lockoutEndAnnouncer(store, clock, log);
  const services = createServices(deps, lockoutEnds.onAttempt);
  const limits = sourceLimitsFrom(config, clock, metrics);
  const stops: (() => Promise<unknown>)[] = [() => store.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };

  try {
    let calls: Awaited<ReturnType<typeof startCalls>> | null = null;
    if (config.signalling !== 'off') {
      const gate = new SipGate({
        realm: config.sipRealm,
        emergencyNumbers: config.emergencyNumbers,
        nonceTtlMs: config.sipNonceSeconds * 1000,
        emergencyLookupMs: config.emergencyLookupMs,
        clock,
        random: cryptoRandom,
        log: log.child({ part: 'sip-gate' }),
        lookupAccount: async (username) => {
          const d = await store.getDeviceBySipUsername(username);
          return d ? { username, password: d.sipPassword, mac: d.mac, tenantId: d.tenantId } : null;
        },
      });
      const prompts = new PromptLibrary([config.promptsDir, shippedPromptsDir()].filter((d): d is string => !!d));
      const auth = new Authentication(deps, (outcome, a) => {
        metrics.papAttempts.inc({ outcome });
        lockoutEnds.onAttempt(outcome, a);
      });
      calls = await startCalls(config, {
        gate, clock, log, limits, registrations: store, onMediaRefused: (reason) => metrics.mediaRefusals.inc({ reason }),
        makeHandler: (signalling, media) => countCalls(metrics, gate, new AuthCallHandler({
          auth, media, signalling, gate, store, prompts,
          emergencyGateway: config.emergencyGateway ?? null,
          ivr: {
            firstDigitMs: config.ivrFirstDigitSeconds * 1000,
            interDigitMs: config.ivrInterDigitSeconds * 1000,
            maxReprompts: config.ivrReprompts,
            maxDigits: 12,
          },
          maxCallMs: config.maxCallSeconds * 1000,
          maxCallsPerDevice: config.maxCallsPerDevice,
          limits,
          emergencyLookupMs: config.emergencyLookupMs,
          unprovenEmergencyPerSource: config.emergencyUnprovenPerSource,
          log: log.child({ part: 'calls' }),
        })),
      });
      stops.push(() => calls!.stop());
      lockoutEnds.attach(calls.signalling);
      if (!config.emergencyGateway) {
        // Minimal configurations advertise the emergency numbers: say loudly that they lead nowhere yet.
        log.warn({ emergencyNumbers: config.emergencyNumbers }, 'PAPGATE_EMERGENCY_GATEWAY is not set: emergency calls from phones are refused with 503');
      }
    }

    stops.push(lockoutEnds.stop);
    const webhooks = startWebhooks(config, deps);
    stops.push(() => webhooks.stop());

    const tlsReload = (files: ReturnType<typeof adminTls>) => ({ files, intervalMs: config.tlsReloadSeconds * 1000, log });
    // Workers read the certificate themselves; bad files must still stop start-up here, with their names.
    if (opts.provisioning === false) httpsOptions(provisioningTls(config), 0);
    const provisioningUrl = opts.provisioning === false
      ? shownUrl(config.provisioningAddress, config.provisioningPort, provisioningTls(config) ? 'https' : 'http')
      : await listen(provisioningService(config, deps, metrics, log, calls?.sipPort ?? config.sipPort, limits),
        config.provisioningAddress, config.provisioningPort, stops, tlsReload(provisioningTls(config)));

    const adminServer = createAdminServer({
      services, metrics, log: log.child({ part: 'admin' }), adminToken: config.adminToken ?? null, extraRoutes: registerPortal,
      https: httpsOptions(adminTls(config), config.tlsHandshakeSeconds * 1000),
      readiness: async () => ({
        store: await storeWritable(store),
        ...(calls ? { sip: calls.signalling.isReady?.() ?? true, media: calls.media.isReady?.() ?? true } : {}),
      }),
    });
    const adminUrl = await listen(adminServer, config.adminAddress, config.adminPort, stops, tlsReload(adminTls(config)));

    log.info({ provisioningUrl, adminUrl, sipPort: calls?.sipPort ?? null, db: describeDb(config.db) }, 'papgate started');
    return {
      config, store, services, metrics, provisioningUrl, adminUrl,
      sipPort: calls?.sipPort ?? null, signalling: calls?.signalling ?? null, media: calls?.media ?? null, stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export function sourceLimitsFrom(c: Config, clock: Clock, metrics: Metrics): SourceLimits {
  return new SourceLimits({
    sipRequestsPerSecond: c.limitSipPerSecond, sipRequestsBurst: c.limitSipBurst,
    ivrCallsPerMinutePerSource: c.limitIvrCallsPerMinute, ivrCallsPerMinutePerDevice: c.limitIvrCallsPerDevicePerMinute,
    provisioning404PerMinute: c.limitProvisioning404PerMinute, provisioning404Burst: c.limitProvisioning404Burst,
    maxSources: c.limitMaxSources, exempt: c.limitExempt,
  }, clock, (limit, action) => metrics.rateLimited.inc({ limit, action }));
}

/**
 * Announces lock-out ends to the phones (a check-sync) through the SIP stack,
 * once it is attached; without signalling nothing is sent.
 */
function lockoutEndAnnouncer(store: Store, clock: Clock, log: Logger) {
  let sipStack: Signalling | null = null;
  const notifier = new LockoutEndNotifier({
    store, clock, log: log.child({ part: 'lockout-end' }),
    sendCheckSync: async (device) => sipStack !== null && checkSyncToRegistration(sipStack, device),
  });
  const onAttempt: AttemptListener = (outcome, a) => {
    if (outcome === 'locked' && a.lockedUntil !== null) notifier.lockedOut(a.mac, a.lockedUntil);
  };
  return {
    onAttempt,
    attach: (signalling: Signalling) => { sipStack = signalling; },
    stop: async () => notifier.stop(),
  };
}

/** How long /readyz waits for the store's write probe before calling it not ready. */
const STORE_PING_TIMEOUT_MS = 2000;

/** True when the store could take a write now; otherwise why not (for /readyz). */
async function storeWritable(store: Store): Promise<true | string> {
  try {
    await withTimeout(store.ping(), STORE_PING_TIMEOUT_MS);
    return true;
  } catch (e) {
    return e instanceof TimedOut
      ? `the store did not answer a write probe within ${STORE_PING_TIMEOUT_MS} ms`
      : `the store cannot write: ${(e as Error).message}`;
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
  const store = await openStore(config, { log: log.child({ part: 'store' }) });
  const deps: AppDeps = { store, clock, random: cryptoRandom, policy: policyFrom(config), log };
  const stops: (() => Promise<unknown>)[] = [() => store.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    const metrics = new Metrics();
    const limits = sourceLimitsFrom(config, clock, metrics);
    const server = provisioningService(config, deps, metrics, log, sipPort, limits);
    const provisioningUrl = await listen(server, config.provisioningAddress, config.provisioningPort, stops, {
      files: provisioningTls(config), intervalMs: config.tlsReloadSeconds * 1000, log,
    });
    return { provisioningUrl, metrics, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Counts calls by route and keeps the active-calls gauge around a handler. */
function countCalls(metrics: Metrics, gate: SipGate, handler: CallHandler): CallHandler {
  return {
    async handle(call) {
      metrics.calls.inc({ route: gate.isEmergency(call.dialled) ? 'emergency' : 'ivr' });
      metrics.activeCalls.inc();
      try {
        await handler.handle(call);
      } finally {
        metrics.activeCalls.dec();
      }
    },
  };
}

