import { PapgateError } from '../../domain/errors';
import type { Logger } from '../../ports/logger';
import { NoCommonCodec, type MediaEngine, type MediaSession } from '../../ports/media';
import { probeEventSocket } from './esl-probe';
import type { FsEndpointLike, MediaServerLike, MrfConstructor, MrfLike } from './fsmrf-types';
import { FreeswitchMediaSession } from './freeswitch-session';
import { freeswitchPath } from './prompt-paths';
import { classifyRefusal, type MediaRefusal } from './refusal';

// fsmrf ships no types: fsmrf-types.ts declares the slice we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Mrf: MrfConstructor = require('drachtio-fsmrf');

/** Options the composition root passes (PAPGATE_FREESWITCH_*). */
export interface FreeswitchMediaOptions {
  /**
   * The drachtio-srf instance the drachtio signalling adapter connected
   * (DrachtioSignalling.srf): fsmrf sends its INVITEs to FreeSWITCH through it.
   */
  srf: object;
  /** Event socket: PAPGATE_FREESWITCH_HOST (127.0.0.1), _PORT (8021), _SECRET (ClueCon). */
  host: string;
  port: number;
  secret: string;
  /** Where FreeSWITCH's outbound event socket reaches us: PAPGATE_FREESWITCH_LISTEN_ADDRESS / _PORT. */
  listenAddress: string;
  listenPort: number;
  /**
   * What FreeSWITCH should connect to (X-esl-outbound). Default: the listen
   * address, or for a 0.0.0.0 / :: bind our own address on the event-socket
   * connection to FreeSWITCH (one it can reach).
   */
  advertisedAddress?: string;
  advertisedPort?: number;
  /** papgate's own prompts/ directory (absolute). */
  promptsDir: string;
  /** The same directory as FreeSWITCH sees it: PAPGATE_FREESWITCH_PROMPTS (/usr/share/papgate/prompts). */
  freeswitchPromptsDir: string;
  log: Logger;
  /** start() waits this long for FreeSWITCH, then resolves (not ready) and keeps trying (default 10 s). */
  connectTimeoutMs?: number;
  /** Pause between connection attempts (default 2 s). */
  retryDelayMs?: number;
  /** createSession() gives up after this long (default 8 s). */
  createTimeoutMs?: number;
  /** sofia profile name (default drachtio_mrf). */
  profile?: string;
  /** Told each time FreeSWITCH refuses a call (for a metric); never throws into us. */
  onRefused?: (reason: MediaRefusal) => void;
}

/** MediaEngine over FreeSWITCH through drachtio-fsmrf (the production stack). */
export class FreeswitchMediaEngine implements MediaEngine {
  private readonly mrf: MrfLike;
  private ms: MediaServerLike | undefined;
  private closed = false;
  private refused = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: FreeswitchMediaOptions) {
    this.mrf = new Mrf(o.srf);
  }

  /** True while the event socket to FreeSWITCH is up (readiness). */
  isReady(): boolean {
    return !this.closed && !!this.ms && this.ms.connected();
  }

  /**
   * Connects to FreeSWITCH. Rejects when FreeSWITCH refuses the secret (a
   * configuration error); resolves after connectTimeoutMs when it is merely
   * not up yet, and keeps trying in the background.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + (this.o.connectTimeoutMs ?? 10_000);
    while (!this.closed && !this.ms) {
      await this.attempt();
      if (this.refused) throw new Error(`FreeSWITCH at ${this.o.host}:${this.o.port} refused the event-socket password (or its ACL refused us)`);
      if (this.ms || Date.now() >= deadline) break;
      await this.sleep(this.o.retryDelayMs ?? 2000);
    }
    if (!this.ms && !this.closed) {
      this.o.log.warn({ host: this.o.host, port: this.o.port }, 'FreeSWITCH not reachable yet; still trying');
      this.scheduleRetry();
    }
  }

  async createSession(opts: { callId: string; offerSdp: string }): Promise<MediaSession> {
    if (!/^v=0/m.test(opts.offerSdp) || !/^m=audio\s+\d+/m.test(opts.offerSdp)) {
      throw new PapgateError('invalid', 'the SDP offer has no audio stream', 'sdp');
    }
    const ms = this.ms;
    if (!ms || !ms.connected()) throw new PapgateError('unavailable', 'the media server is not connected');
    const log = this.o.log.child({ callId: opts.callId });
    const endpoint = await this.createEndpoint(ms, opts.offerSdp, log);
    if (endpoint.dtmfType !== 'rfc2833') {
      // No telephone-event negotiated: listen for the tones in the audio.
      endpoint.execute('start_dtmf').catch(() => log.warn('start_dtmf failed'));
    }
    return new FreeswitchMediaSession({
      endpoint,
      log,
      closeTimeoutMs: 3000,
      mapPath: (f) => freeswitchPath(f, this.o.promptsDir, this.o.freeswitchPromptsDir),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wake?.();
    await this.connecting?.catch(() => undefined); // a failed connect was logged where it failed; closing goes on
    const ms = this.ms;
    this.ms = undefined;
    try {
      ms?.disconnect();
    } catch (err) {
      this.o.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'disconnecting FreeSWITCH');
    }
  }

  private async createEndpoint(ms: MediaServerLike, offerSdp: string, log: Logger): Promise<FsEndpointLike> {
    const timeoutMs = this.o.createTimeoutMs ?? 8000;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const creating = ms.createEndpoint({ remoteSdp: offerSdp });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new PapgateError('unavailable', 'the media server did not answer in time'));
      }, timeoutMs);
    });
    try {
      return await Promise.race([creating, timeout]);
    } catch (err) {
      if (timedOut) {
        // If it still comes, it belongs to nobody: hang it up.
        creating
          .then(
            (ep) => ep.destroy(),
            () => undefined,
          )
          .catch(() => undefined);
        throw err;
      }
      throw this.refusal(err, offerSdp, log);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error a refusal by FreeSWITCH becomes; logged and counted by what it really is. */
  private refusal(err: unknown, offerSdp: string, log: Logger): Error {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : undefined;
    const reason = classifyRefusal(status, offerSdp);
    try {
      this.o.onRefused?.(reason);
    } catch (e) {
      log.debug({ err: e instanceof Error ? e.message : String(e) }, 'refusal listener failed');
    }
    const detail = { status, err: err instanceof Error ? err.message : String(err) };
    if (reason === 'no-common-codec') return new NoCommonCodec('no codec in common with the media server');
    if (reason === 'no-rtp-ports') {
      // FreeSWITCH says 488 but the offer has G.711: its RTP port range is used up (switch.conf.xml).
      log.error(detail, 'FreeSWITCH has no RTP port free: raise rtp_end_port (freeswitch-conf/vars.xml)');
      return new PapgateError('unavailable', 'the media server has no RTP port free');
    }
    if (reason === 'busy') {
      log.error(detail, 'FreeSWITCH is at its session limit (max_media_calls)');
      return new PapgateError('unavailable', 'the media server is at its session limit');
    }
    log.warn(detail, 'media server refused the call');
    return new PapgateError('unavailable', 'the media server refused the call');
  }

  /** One connection attempt: probe the event socket, then let fsmrf connect. */
  private attempt(): Promise<void> {
    const run = async () => {
      const profile = this.o.profile ?? 'drachtio_mrf';
      const probe = await probeEventSocket({ host: this.o.host, port: this.o.port, secret: this.o.secret, profile, timeoutMs: 3000 });
      if (probe.outcome === 'refused') {
        this.refused = true;
        this.o.log.error({ host: this.o.host, port: this.o.port }, 'FreeSWITCH refused the event-socket login');
        return;
      }
      if (probe.outcome === 'no-profile') this.o.log.error({ profile }, 'FreeSWITCH has no such sofia profile running yet');
      if (probe.outcome !== 'ready' || this.closed) return;
      const advertisedAddress = this.o.advertisedAddress ?? (isWildcard(this.o.listenAddress) ? probe.localAddress : undefined);
      try {
        const ms = await withTimeout(
          this.mrf.connect({
            address: this.o.host,
            port: this.o.port,
            secret: this.o.secret,
            listenAddress: this.o.listenAddress,
            listenPort: this.o.listenPort,
            advertisedAddress,
            advertisedPort: this.o.advertisedPort,
            profile,
          }),
          5000,
          'fsmrf connect',
        );
        ms.on('error', (err) => this.o.log.warn({ err: err.message }, 'media server error'));
        ms.on('end', () => this.o.log.warn('lost FreeSWITCH; fsmrf reconnects'));
        if (this.closed) ms.disconnect();
        else {
          this.ms = ms;
          this.o.log.info({ host: this.o.host, port: this.o.port }, 'connected to FreeSWITCH');
        }
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'connecting to FreeSWITCH failed');
      }
    };
    this.connecting = run();
    return this.connecting;
  }

  private scheduleRetry(): void {
    if (this.closed || this.ms || this.refused) return;
    this.retryTimer = setTimeout(() => {
      void this.attempt().then(() => this.scheduleRetry());
    }, this.o.retryDelayMs ?? 2000);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.retryTimer = setTimeout(resolve, ms);
    });
  }
}

/** A bind-all address is no address FreeSWITCH can connect back to. */
function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
