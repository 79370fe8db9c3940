import Srf = require('drachtio-srf');
import type { SourceLimits } from '../../app/source-limits';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import { TypedEmitter } from '../../ports/events';
import {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  type CallHandler,
  type NotifyTarget,
  type Registration,
  type Signalling,
  type SignallingEvents,
} from '../../ports/signalling';
import { DrachtioInboundCall } from './drachtio-call';
import { InMemoryRegistrations, Registrar, type RegistrationStore } from '../../app/registrar';
import { handleRegister, type SipGateLike } from './register-handler';
import { answerOtherRequests } from './other-requests';

export type { SipGateLike } from './register-handler';
import { challengeHeaders, hostOfUri, sourceOf, userOfUri } from './sip-text';
import type { SrfLike, SrfRequestLike, SrfResponseLike } from './srf-types';

/** Options the composition root passes (PAPGATE_DRACHTIO_*). */
export interface DrachtioSignallingOptions {
  /** drachtio-server admin address, PAPGATE_DRACHTIO_HOST (127.0.0.1). */
  host: string;
  /** PAPGATE_DRACHTIO_PORT (9022). */
  port: number;
  /** PAPGATE_DRACHTIO_SECRET (cymru). */
  secret: string;
  gate: SipGateLike;
  clock: Clock;
  log: Logger;
  /** start() waits this long for the first connection, then resolves and keeps trying (default 10 s). */
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect back-off (default 3 s). */
  reconnectMaxDelayMs?: number;
  /** NOTIFY without a final answer in this time resolves 0 (default DEFAULT_NOTIFY_TIMEOUT_MS). */
  notifyTimeoutMs?: number;
  /** answer() gives up when no ACK arrives in this time (default 32 s, RFC 3261's 64*T1). */
  ackTimeoutMs?: number;
  /** Shortest registration we accept (423 below), seconds (default 60, like the embedded stack). */
  minRegisterExpiresS?: number;
  /** Longest registration we grant, seconds (default 3600). */
  maxRegisterExpiresS?: number;
  /** Per-source request rate for REGISTER and INVITE (drachtio-server answers the rest itself); none: unlimited. */
  limits?: Pick<SourceLimits, 'sipRequest'>;
  /** Where bindings live: the shared store on a server (default: this process only). */
  registrations?: RegistrationStore;
  /** Tests and main.ts may pass their own Srf; by default one is created. */
  srf?: SrfLike;
}

/** Signalling over drachtio-srf and a drachtio-server (the production stack). */
export class DrachtioSignalling extends TypedEmitter<SignallingEvents> implements Signalling {
  readonly srf: SrfLike;
  private readonly registrations: Registrar;
  private handler: CallHandler | undefined;
  private connected = false;
  private stopped = false;
  private started = false;

  constructor(private readonly o: DrachtioSignallingOptions) {
    super((event, err) => o.log.error({ err: err instanceof Error ? err.message : String(err), event }, 'signalling event listener threw'));
    this.srf = o.srf ?? (new Srf() as unknown as SrfLike);
    this.registrations = new Registrar({
      store: o.registrations ?? new InMemoryRegistrations(),
      clock: o.clock,
      minExpires: o.minRegisterExpiresS ?? 60,
      maxExpires: o.maxRegisterExpiresS ?? 3600,
      defaultExpires: 3600,
    });
  }

  /** True while an authenticated connection to drachtio-server is up (readiness). */
  isReady(): boolean {
    return this.connected && !this.stopped;
  }

  async start(handler: CallHandler): Promise<void> {
    if (this.started) throw new Error('DrachtioSignalling already started');
    this.started = true;
    this.handler = handler;
    const log = this.o.log;
    const firstConnect = new Promise<void>((resolve, reject) => {
      this.srf.on('connect', (err, hostport) => {
        if (this.stopped) return this.safeDisconnect();
        if (err) {
          this.connected = false;
          log.error({ host: this.o.host, port: this.o.port }, 'drachtio-server refused our secret');
          return reject(new Error(`drachtio-server at ${this.o.host}:${this.o.port} refused the secret`));
        }
        this.connected = true;
        log.info({ hostport }, 'connected to drachtio-server');
        resolve();
      });
    });
    this.srf.on('close', () => {
      if (this.connected && !this.stopped) log.warn('lost drachtio-server; reconnecting');
      this.connected = false;
    });
    this.srf.on('reconnecting', () => log.debug('reconnecting to drachtio-server'));
    this.srf.on('error', (err) => log.debug({ err: err.message }, 'drachtio connection error'));
    this.srf.register((req, res) => void this.onRegister(req, res));
    this.srf.invite((req, res) => void this.onInvite(req, res));
    answerOtherRequests(this.srf, log.child({ part: 'sip-other' }));
    this.srf.connect({
      host: this.o.host,
      port: this.o.port,
      secret: this.o.secret,
      reconnect: { retryMaxDelay: this.o.reconnectMaxDelayMs ?? 3000 },
    });
    const timeoutMs = this.o.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn({ host: this.o.host, port: this.o.port }, 'drachtio-server not reachable yet; still trying');
        resolve();
      }, timeoutMs);
    });
    try {
      await Promise.race([firstConnect, timeout]);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const wasConnected = this.connected;
    this.connected = false;
    const closed = new Promise<void>((resolve) => {
      if (!wasConnected) return resolve();
      const t = setTimeout(resolve, 1000);
      this.srf.on('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.safeDisconnect();
    await closed;
  }

  registration(username: string): Promise<Registration | undefined> {
    return this.registrations.lookup(username);
  }

  async notify(target: NotifyTarget, event: string): Promise<number> {
    const status = await this.sendNotify(target, event);
    this.emit('notify', { username: target.username, event, status });
    return status;
  }

  private sendNotify(target: NotifyTarget, event: string): Promise<number> {
    const host = hostOfUri(target.uri) ?? 'invalid';
    const headers: Record<string, string> = {
      Event: event,
      'Subscription-State': 'terminated',
      To: `<sip:${target.username}@${host}>`,
      'Content-Length': '0',
    };
    const opts = { method: 'NOTIFY', headers } as { method: string; headers: Record<string, string>; proxy?: string };
    if (target.route?.length) {
      // Path recorded at REGISTER: drachtio sends to the first hop, the Route headers take it on.
      headers.Route = target.route.map((u) => `<${u}>`).join(', ');
      opts.proxy = target.route[0]!;
    } else if (target.via) {
      const v = target.via;
      const addr = v.address.includes(':') ? `[${v.address}]` : v.address;
      opts.proxy = `sip:${addr}:${v.port};transport=${v.transport}`;
    }
    const timeoutMs = this.o.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
    const log = this.o.log;
    return new Promise<number>((resolve) => {
      let settled = false;
      const done = (status: number) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(status);
        }
      };
      const timer = setTimeout(() => done(0), timeoutMs);
      try {
        this.srf.request(target.uri, opts, (err, sent) => {
          if (err) {
            log.warn({ err: err.message, event }, 'NOTIFY could not be sent');
            return done(0);
          }
          sent.on('response', (res) => {
            if (res.status >= 200) done(res.status);
          });
        });
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), event }, 'NOTIFY could not be sent');
        done(0);
      }
    });
  }

  private async onRegister(req: SrfRequestLike, res: SrfResponseLike): Promise<void> {
    if (this.overRate(req, res)) return;
    try {
      const answer = await handleRegister(req, res, {
        gate: this.o.gate,
        registrations: this.registrations,
        log: this.o.log.child({ method: 'REGISTER' }),
        now: () => this.o.clock.now(),
      });
      this.emit('register', { ...answer, source: sourceOf(req) });
    } catch (err) {
      this.o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'REGISTER failed');
      sendQuietly(res, 500);
    }
  }

  private async onInvite(req: SrfRequestLike, res: SrfResponseLike): Promise<void> {
    const callId = req.get('Call-ID') ?? '';
    const log = this.o.log.child({ callId });
    // Emergency calls are never rate-limited; without a way to tell them apart, no INVITE is.
    const dialled = userOfUri(req.uri) ?? '';
    if (this.o.gate.isEmergency && !this.o.gate.isEmergency(dialled) && this.overRate(req, res)) return;
    try {
      const admission = await this.o.gate.admit({
        method: 'INVITE',
        dialled,
        authorization: req.get('Authorization') ?? req.get('Proxy-Authorization'),
      });
      if (admission.kind === 'challenge') {
        return res.send(401, challengeHeaders(admission.wwwAuthenticate));
      }
      if (admission.kind === 'reject') return res.send(admission.status, admission.reason);
      if (!this.handler) return res.send(503);
      const call = new DrachtioInboundCall({
        srf: this.srf,
        req,
        res,
        account: admission.account,
        log,
        ackTimeoutMs: this.o.ackTimeoutMs ?? 32_000,
      });
      this.emit('call', call, admission.emergency);
      await this.handler.handle(call);
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'INVITE handling failed');
      sendQuietly(res, 500);
    }
  }

  /**
   * True (and 503 with Retry-After sent) when the request's source is over its
   * rate. drachtio-server holds the transaction, so even a flood is answered.
   */
  private overRate(req: SrfRequestLike, res: SrfResponseLike): boolean {
    const verdict = this.o.limits?.sipRequest(req.source_address) ?? { kind: 'pass' };
    if (verdict.kind === 'pass') return false;
    const retryAfter = verdict.kind === 'refuse' ? verdict.retryAfterSeconds : 1;
    try {
      res.send(503, { headers: { 'Retry-After': String(retryAfter) } });
    } catch {
      /* the transaction is gone: nothing left to answer */
    }
    return true;
  }

  private safeDisconnect(): void {
    try {
      this.srf.disconnect();
    } catch {
      /* no socket right now: the 'connect' handler disconnects any late one */
    }
  }
}

function sendQuietly(res: SrfResponseLike, status: number): void {
  try {
    if (!res.finalResponseSent) res.send(status);
  } catch {
    /* the transaction is gone */
  }
}
