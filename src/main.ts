import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createAdminServer } from './admin/rest/server';
import { registerPortal } from './admin/web/portal';
import { Authentication } from './app/authentication';
import { AuthCallHandler } from './app/call-handler';
import type { AppDeps } from './app/deps';
import { PromptLibrary, shippedPromptsDir } from './app/prompt-library';
import { Provisioning } from './app/provisioning';
import { createServices, type AdminServices } from './app/services';
import { SipGate } from './app/sip-gate';
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
import { createProvisioningServer } from './provisioning/server';
import { openSqliteStore } from './store/sqlite';
import { startCalls } from './compose-calls';

/**
 * The composition root: picks the adapters the Config names, wires them to
 * the use cases, starts the listeners, and stops everything in reverse order.
 */

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
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
  const store = await openSqliteStore(config.db, { log: log.child({ part: 'store' }) });
  store.startCheckpoints(2000);
  const deps: AppDeps = { store, clock, random: cryptoRandom, policy: policyFrom(config), log };
  const services = createServices(deps);
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
        clock,
        random: cryptoRandom,
        lookupAccount: async (username) => {
          const d = await store.getDeviceBySipUsername(username);
          return d ? { username, password: d.sipPassword, mac: d.mac, tenantId: d.tenantId } : null;
        },
      });
      const prompts = new PromptLibrary([config.promptsDir, shippedPromptsDir()].filter((d): d is string => !!d));
      const auth = new Authentication(deps, (outcome) => metrics.papAttempts.inc({ outcome }));
      calls = await startCalls(config, {
        gate, clock, log, onMediaRefused: (reason) => metrics.mediaRefusals.inc({ reason }),
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
          log: log.child({ part: 'calls' }),
        })),
      });
      stops.push(() => calls!.stop());
      if (!config.emergencyGateway) {
        // Minimal configurations advertise the emergency numbers: say loudly that they lead nowhere yet.
        log.warn({ emergencyNumbers: config.emergencyNumbers }, 'PAPGATE_EMERGENCY_GATEWAY is not set: emergency calls from phones are refused with 503');
      }
    }

    const sipHost = config.sipAdvertisedAddress ?? new URL(config.publicUrl).hostname;
    const provisioning = new Provisioning(deps, {
      publicUrl: config.publicUrl,
      sip: { server: sipHost, port: calls?.sipPort ?? config.sipPort, transport: config.sipTransports.includes('udp') ? 'udp' : 'tcp' },
      emergencyNumbers: config.emergencyNumbers,
      hotline: config.hotline,
      minimalResyncSeconds: config.minimalResyncSeconds,
      fullResyncSeconds: config.fullResyncSeconds,
    });
    const provisioningServer = createProvisioningServer({
      provisioning, log: log.child({ part: 'provisioning' }), metrics, trustedProxies: config.trustedProxies,
    });
    const provisioningUrl = await listen(provisioningServer, config.provisioningAddress, config.provisioningPort, stops);

    const adminServer = createAdminServer({
      services, metrics, log: log.child({ part: 'admin' }), adminToken: config.adminToken ?? null, extraRoutes: registerPortal,
      readiness: async () => ({
        store: await store.getDevice('000000000000').then(() => true, () => false),
        ...(calls ? { sip: calls.signalling.isReady?.() ?? true, media: calls.media.isReady?.() ?? true } : {}),
      }),
    });
    const adminUrl = await listen(adminServer, config.adminAddress, config.adminPort, stops);

    log.info({ provisioningUrl, adminUrl, sipPort: calls?.sipPort ?? null, db: config.db }, 'papgate started');
    return {
      config, store, services, metrics, provisioningUrl, adminUrl,
      sipPort: calls?.sipPort ?? null, signalling: calls?.signalling ?? null, media: calls?.media ?? null, stop,
    };
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

async function listen(app: FastifyInstance, host: string, port: number, stops: (() => Promise<unknown>)[]): Promise<string> {
  await app.listen({ host, port });
  stops.push(() => app.close());
  const addr = app.server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`;
}
