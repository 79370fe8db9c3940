import { availableParallelism } from 'node:os';
import type { Authentication } from './app/authentication';
import { AuthCallHandler } from './app/call-handler';
import type { AppDeps } from './app/deps';
import { PromptLibrary } from './app/prompt-library';
import { SipGate } from './app/sip-gate';
import type { SourceLimits } from './app/source-limits';
import { DEFAULT_IVR_SETTINGS } from './domain/ivr/settings';
import type { Metrics } from './observability/metrics';
import { cryptoRandom, pooledRandom } from './ports/random';
import type { Config } from './config/config';
import { EmbeddedMediaEngine, ThreadedMediaEngine } from './media/embedded';
import type { Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { MediaEngine } from './ports/media';
import type { CallHandler, Signalling } from './ports/signalling';
import type { RegistrationStore } from './app/registrar';
import { EmbeddedSignalling } from './sip/embedded';
import { DrachtioSignalling } from './sip/drachtio/drachtio-signalling';
import { FreeswitchMediaEngine } from './media/freeswitch/freeswitch-media';
import { shippedPromptsDir } from './app/prompt-library';
import { readTlsPair, watchTlsPair, type TlsFiles } from './tls-files';

/**
 * Part of the composition root: the call service (SipGate, PIN dialogue,
 * emergency routing) over the signalling and media adapters the Config names.
 */

export interface CallServiceDeps {
  deps: AppDeps;
  metrics: Metrics;
  limits: SourceLimits;
  /** The one Authentication of the process (services.ts), which the IVR's PAP attempts go through. */
  auth: Authentication;
}

/** Builds the SipGate and the call handler and starts SIP and media with them. */
export async function startCallService(config: Config, s: CallServiceDeps): Promise<RunningCalls> {
  const { store, clock, log } = s.deps;
  const gate = new SipGate({
    realm: config.sipRealm,
    emergencyNumbers: config.emergencyNumbers,
    nonceTtlMs: config.sipNonceSeconds * 1000,
    digestAlgorithms: config.sipDigestAlgorithms,
    emergencyLookupMs: config.emergencyLookupMs,
    clock,
    random: pooledRandom(cryptoRandom),
    log: log.child({ part: 'sip-gate' }),
    lookupAccount: async (username) => {
      const d = await store.getDeviceBySipUsername(username);
      return d ? { username, password: d.sipPassword, mac: d.mac, tenantId: d.tenantId } : null;
    },
  });
  const prompts = new PromptLibrary([config.promptsDir, shippedPromptsDir()].filter((d): d is string => !!d));
  if (!config.emergencyGateway) {
    // Minimal configurations advertise the emergency numbers: say loudly that they lead nowhere yet.
    log.warn({ emergencyNumbers: config.emergencyNumbers }, 'PAPGATE_EMERGENCY_GATEWAY is not set: emergency calls from phones are refused with 503');
  }
  return startCalls(config, {
    gate,
    clock,
    log,
    limits: s.limits,
    registrations: store,
    onMediaRefused: (reason) => s.metrics.mediaRefusals.inc({ reason }),
    makeHandler: (signalling, media) =>
      countCalls(
        s.metrics,
        gate,
        new AuthCallHandler({
          auth: s.auth,
          media,
          signalling,
          gate,
          store,
          prompts,
          emergencyGateway: config.emergencyGateway ?? null,
          ivr: {
            firstDigitMs: config.ivrFirstDigitSeconds * 1000,
            interDigitMs: config.ivrInterDigitSeconds * 1000,
            maxReprompts: config.ivrReprompts,
            maxDigits: DEFAULT_IVR_SETTINGS.maxDigits,
          },
          maxCallMs: config.maxCallSeconds * 1000,
          maxCallsPerDevice: config.maxCallsPerDevice,
          limits: s.limits,
          emergencyLookupMs: config.emergencyLookupMs,
          unprovenEmergencyPerSource: config.emergencyUnprovenPerSource,
          log: log.child({ part: 'calls' }),
        }),
      ),
  });
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

export interface CallDeps {
  gate: SipGate;
  /** Per-source SIP request rate; none: unlimited. */
  limits?: SourceLimits;
  clock: Clock;
  log: Logger;
  /** The shared store's registrations: any node can reach any registered phone. */
  registrations: RegistrationStore;
  makeHandler(signalling: Signalling, media: MediaEngine): CallHandler;
  /** Told when the media server refuses a call (FreeSWITCH media only). */
  onMediaRefused?(reason: string): void;
}

export interface RunningCalls {
  signalling: Signalling;
  media: MediaEngine;
  sipPort: number;
  /** The SIP over TLS port in use (embedded stack), or undefined without TLS. */
  sipTlsPort?: number;
  stop(): Promise<void>;
}

/**
 * Builds the SIP and media adapters the Config names, starts SIP with the
 * call handler, and returns them with the SIP port phones use (the bound one
 * for the embedded stack, useful when PAPGATE_SIP_PORT is 0).
 * FreeSWITCH media needs drachtio signalling: fsmrf sends its INVITEs to
 * FreeSWITCH through the same drachtio-server connection.
 */
export async function startCalls(c: Config, d: CallDeps): Promise<RunningCalls> {
  if (c.media === 'freeswitch' && c.signalling !== 'drachtio') {
    throw new Error('PAPGATE_MEDIA=freeswitch needs PAPGATE_SIGNALLING=drachtio (fsmrf reaches FreeSWITCH through drachtio-server)');
  }
  return c.signalling === 'drachtio' ? startDrachtio(c, d) : startEmbedded(c, d);
}

function embeddedMedia(c: Config, d: CallDeps): EmbeddedMediaEngine | ThreadedMediaEngine {
  const options = {
    bindAddress: c.rtpAddress,
    advertisedAddress: advertisedAddress(c),
    rtpPortMin: c.rtpPortMin,
    rtpPortMax: c.rtpPortMax,
    inactivityMs: c.rtpTimeoutSeconds * 1000,
    sendSilence: c.rtpSilence === 'on',
    srtp: c.srtp,
    log: d.log.child({ part: 'media' }),
  };
  return mediaOnThread(c) ? new ThreadedMediaEngine(options, { nice: mediaThreadNice(c) }) : new EmbeddedMediaEngine(options);
}

/** The nice value the media thread asks for; undefined: it keeps the process's. */
export function mediaThreadNice(c: Pick<Config, 'mediaNice'>): number | undefined {
  return c.mediaNice === 'keep' ? undefined : c.mediaNice;
}

/** auto: a thread only pays when there is a second core for it to run on. */
export function mediaOnThread(c: Pick<Config, 'mediaThread'>, cores = availableParallelism()): boolean {
  return c.mediaThread === 'on' || (c.mediaThread === 'auto' && cores >= 2);
}

/** The certificate of SIP over TLS: its own pair, else the provisioning one; undefined when SIP TLS is off. */
export function sipTlsFiles(c: Config): TlsFiles | undefined {
  if (c.sipTlsPort === undefined) return undefined;
  const certPath = c.sipTlsCert ?? c.tlsCert;
  const keyPath = c.sipTlsCert ? c.sipTlsKey : c.tlsKey;
  return certPath && keyPath ? { certPath, keyPath } : undefined;
}

const advertisedAddress = (c: Config) => c.sipAdvertisedAddress ?? new URL(c.publicUrl).hostname;

async function startEmbedded(c: Config, d: CallDeps): Promise<RunningCalls> {
  const tlsFiles = sipTlsFiles(c);
  const media = embeddedMedia(c, d);
  const signalling = new EmbeddedSignalling({
    address: c.sipAddress,
    port: c.sipPort,
    udp: c.sipTransports.includes('udp'),
    tcp: c.sipTransports.includes('tcp'),
    gate: d.gate,
    log: d.log.child({ part: 'sip' }),
    clock: d.clock,
    advertisedAddress: advertisedAddress(c),
    limits: d.limits,
    tcpLimits: {
      maxConnections: c.sipTcpMaxConnections,
      maxConnectionsPerSource: c.sipTcpMaxConnectionsPerSource,
      idleNewMs: c.sipTcpIdleNewSeconds * 1000,
      idleMs: c.sipTcpIdleSeconds * 1000,
    },
    registrations: d.registrations,
    trustedProxies: c.sipTrustedProxies,
    notifyTimeoutMs: c.sipNotifyTimeoutSeconds * 1000,
    tls: tlsFiles && { port: c.sipTlsPort!, ...readTlsPair(tlsFiles), handshakeMs: c.tlsHandshakeSeconds * 1000 },
  });
  const running = await startBoth(signalling, media, d, () => signalling.port);
  if (!tlsFiles) return running;
  const unwatch = watchTlsPair(
    { setSecureContext: (pair) => signalling.setTlsCertificate(pair) },
    tlsFiles,
    c.tlsReloadSeconds * 1000,
    d.log.child({ part: 'sip' }),
  );
  return {
    ...running,
    sipTlsPort: signalling.tlsPort,
    async stop() {
      unwatch();
      await running.stop();
    },
  };
}

/** Production topology: drachtio-server for SIP, FreeSWITCH (or embedded RTP) for media. */
async function startDrachtio(c: Config, d: CallDeps): Promise<RunningCalls> {
  const signalling = new DrachtioSignalling({
    host: c.drachtioHost,
    port: c.drachtioPort,
    secret: c.drachtioSecret,
    gate: d.gate,
    clock: d.clock,
    log: d.log.child({ part: 'sip' }),
    limits: d.limits,
    registrations: d.registrations,
    notifyTimeoutMs: c.sipNotifyTimeoutSeconds * 1000,
  });
  let media: MediaEngine;
  if (c.media === 'freeswitch') {
    const fs = new FreeswitchMediaEngine({
      srf: signalling.srf,
      host: c.freeswitchHost,
      port: c.freeswitchPort,
      secret: c.freeswitchSecret,
      listenAddress: c.freeswitchListenAddress,
      listenPort: c.freeswitchListenPort,
      promptsDir: c.promptsDir ?? shippedPromptsDir(),
      freeswitchPromptsDir: c.freeswitchPrompts,
      log: d.log.child({ part: 'media' }),
      onRefused: d.onMediaRefused,
    });
    await fs.start();
    media = fs;
  } else {
    media = embeddedMedia(c, d);
  }
  return startBoth(signalling, media, d, () => c.sipPort);
}

/** Starts SIP with the call handler; media is closed again if SIP cannot start. */
async function startBoth(signalling: Signalling, media: MediaEngine, d: CallDeps, sipPort: () => number): Promise<RunningCalls> {
  try {
    await signalling.start(d.makeHandler(signalling, media));
  } catch (e) {
    await media.close();
    throw e;
  }
  return {
    signalling,
    media,
    sipPort: sipPort(),
    async stop() {
      await signalling.stop();
      await media.close();
    },
  };
}
