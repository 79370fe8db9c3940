import { DEFAULT_EMERGENCY_LOOKUP_MS, normaliseDialled } from '../domain/dialplan';
import { invalid, isPapgateError } from '../domain/errors';
import { checkSyncEvent, type IvrSettings, type StartState } from '../domain/ivr';
import type { Locale, Vendor } from '../domain/types';
import type { Logger } from '../ports/logger';
import { NoCommonCodec, type MediaEngine, type MediaSession } from '../ports/media';
import type { CallEndReason, CallHandler, ForwardedCaller, InboundCall, NotifyTarget, SipAccount, Signalling } from '../ports/signalling';
import type { Store } from '../ports/store';
import type { Authentication, DeviceStatus } from './authentication';
import { IvrDriver, verifyWith, type IvrRunResult } from './ivr-driver';
import type { PromptLibrary } from './prompt-library';
import { notifyTargetOf } from './notify-target';
import type { SipGate } from './sip-gate';
import { isSiteEmergency } from './site-emergency';
import type { SourceLimits } from './source-limits';
import { withTimeout } from './with-timeout';

export interface AuthCallHandlerDeps {
  auth: Authentication;
  media: MediaEngine;
  signalling: Pick<Signalling, 'notify' | 'registration'>;
  gate: Pick<SipGate, 'isEmergency'>;
  store: Store;
  prompts: PromptLibrary;
  /** SIP URI of the emergency gateway, e.g. sip:gw.example.net:5060; null: emergency calls get 503. */
  emergencyGateway: string | null;
  ivr: IvrSettings;
  /** An IVR call is hung up after this long. */
  maxCallMs: number;
  /**
   * IVR calls one device may hold at once; more get 486 Busy Here. The SIP
   * credentials are in the minimal configuration (anyone with the MAC can
   * fetch them), so without a cap one MAC could tie up every RTP port.
   * Emergency calls are never counted or refused.
   */
  maxCallsPerDevice?: number;
  /** New IVR calls per minute per source and per device; none: unlimited. */
  limits?: Pick<SourceLimits, 'ivrCall'>;
  /** How long an emergency call waits for the store to name its tenant and site (default 300 ms). */
  emergencyLookupMs?: number;
  /**
   * Unproven emergency calls (let through because the store could not answer)
   * one source IP may hold at once; more get 503, so nobody can flood the
   * gateway while the store is down. A device's emergency call is never counted.
   */
  unprovenEmergencyPerSource?: number;
  log: Logger;
}

export { DEFAULT_IVR_SETTINGS, type IvrSettings } from '../domain/ivr';

/** Tracks whether the phone (or anyone) has ended the call, from the very start of handling. */
interface Lifetime {
  ended: boolean;
  reason?: CallEndReason;
}

/**
 * Every call a phone in minimal configuration makes (section 8 of docs/behaviour.md):
 * emergency numbers go to the emergency gateway whatever happens; everything
 * else gets the PIN dialogue. `handle` resolves when the call is over,
 * including the check-sync NOTIFY that follows a success.
 */
export class AuthCallHandler implements CallHandler {
  /** IVR calls in progress per device MAC. */
  private readonly ivrCalls = new Map<string, number>();
  /** Unproven emergency calls in progress per source IP. */
  private readonly unprovenCalls = new Map<string, number>();

  constructor(private readonly d: AuthCallHandlerDeps) {}

  async handle(call: InboundCall): Promise<void> {
    const lifetime: Lifetime = { ended: false };
    call.on('ended', (reason) => {
      lifetime.ended = true;
      lifetime.reason = reason;
    });
    const log = this.d.log.child({
      callId: call.callId,
      mac: call.account?.mac ?? null,
      tenant: call.account?.tenantId ?? null,
    });
    // The global list first, for every caller; then the proven device's own site numbers on top.
    const emergency =
      this.d.gate.isEmergency(call.dialled) || (await isSiteEmergency(this.d.store, call.account, call.dialled, this.d.emergencyLookupMs ?? 300, log));
    // Only emergency numbers are logged: a phone may dial its PAP as the number, and PAPs never reach a log.
    log.info({ emergency, ...(emergency ? { dialled: call.dialled } : {}), source: call.source.address, userAgent: call.userAgent }, 'call');
    if (emergency) return this.emergency(call, log, lifetime);
    try {
      await this.authenticate(call, log, lifetime);
    } catch (err) {
      log.error({ err }, 'call handling failed');
      rejectQuietly(call, 500, 'Server Internal Error', log);
    }
  }

  /** Never throws and never lets a store error stop a device's call. */
  private async emergency(call: InboundCall, log: Logger, lifetime: Lifetime): Promise<void> {
    const number = normaliseDialled(call.dialled);
    let target: string;
    try {
      if (!this.d.emergencyGateway) throw new Error('no emergency gateway is configured');
      target = emergencyTarget(this.d.emergencyGateway, number);
    } catch (err) {
      log.error({ err, number }, 'EMERGENCY CALL CANNOT BE ROUTED');
      rejectQuietly(call, 503, 'Service Unavailable', log);
      return;
    }
    const account = call.account;
    const source = sourceIp(call.source.address);
    if (!account && !this.holdUnproven(source)) {
      log.warn({ number, source }, 'too many unproven emergency calls from one source at once');
      rejectQuietly(call, 503, 'Service Unavailable', log);
      return;
    }
    try {
      await this.forwardEmergency(call, account, number, target, log, lifetime);
    } finally {
      if (!account) this.releaseUnproven(source);
    }
  }

  private async forwardEmergency(
    call: InboundCall,
    account: SipAccount | null,
    number: string,
    target: string,
    log: Logger,
    lifetime: Lifetime,
  ): Promise<void> {
    const headers = account ? await this.deviceHeaders(account, log) : unprovenHeaders(call);
    if (lifetime.ended) {
      log.info({ number, reason: lifetime.reason }, 'emergency call ended before it was forwarded');
      return;
    }
    const caller: ForwardedCaller = account ? { kind: 'device', username: account.username } : { kind: 'unverified' };
    log.info({ number, target, proven: !!account }, 'emergency call: forwarding to the gateway');
    try {
      await call.forward(target, headers, caller);
      log.info({ number }, 'emergency call over');
    } catch (err) {
      log.error({ err, number, target }, 'EMERGENCY CALL FORWARDING FAILED');
      rejectQuietly(call, 503, 'Service Unavailable', log);
    }
  }

  /** Takes one of the source's unproven-call slots; false when it has none left. */
  private holdUnproven(address: string): boolean {
    const held = this.unprovenCalls.get(address) ?? 0;
    if (held >= (this.d.unprovenEmergencyPerSource ?? 2)) return false;
    this.unprovenCalls.set(address, held + 1);
    return true;
  }

  private releaseUnproven(address: string): void {
    const left = (this.unprovenCalls.get(address) ?? 1) - 1;
    if (left > 0) this.unprovenCalls.set(address, left);
    else this.unprovenCalls.delete(address);
  }

  /** The device's MAC, and its tenant and site names when the store answers in time. */
  private async deviceHeaders(account: SipAccount, log: Logger): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Priority: 'emergency', 'X-Papgate-Mac': account.mac };
    try {
      const names = await withTimeout(this.lookupNames(account), this.d.emergencyLookupMs ?? DEFAULT_EMERGENCY_LOOKUP_MS);
      if (names.tenant) headers['X-Papgate-Tenant'] = headerText(names.tenant);
      if (names.site) headers['X-Papgate-Site'] = headerText(names.site);
    } catch (err) {
      log.warn({ err }, 'emergency call: tenant and site unknown (store did not answer)');
    }
    return headers;
  }

  private async lookupNames(account: SipAccount): Promise<{ tenant?: string; site?: string }> {
    const [tenant, device] = await Promise.all([this.d.store.getTenantById(account.tenantId), this.d.store.getDevice(account.mac)]);
    const site = device?.siteId != null ? await this.d.store.getSiteById(device.siteId) : null;
    return { tenant: tenant?.name, site: site?.name };
  }

  private async authenticate(call: InboundCall, log: Logger, lifetime: Lifetime): Promise<void> {
    const account = call.account;
    if (!account) {
      rejectQuietly(call, 403, 'Forbidden', log);
      return;
    }
    // Before the store is asked: a call flood must cost us as little as possible.
    const rate = this.d.limits?.ivrCall(call.source.address, account.mac) ?? { kind: 'pass' };
    if (rate.kind === 'refuse') {
      log.debug({ limit: rate.limit, source: call.source.address }, 'too many new IVR calls: refused'); // counted in metrics; a flood must not flood the log
      rejectQuietly(call, rate.status, rate.status === 486 ? 'Busy Here' : 'Service Unavailable', log);
      return;
    }
    const status = await this.deviceStatus(account.mac, log);
    if (status === null) {
      log.warn('the SIP account has no device any more');
      rejectQuietly(call, 403, 'Forbidden', log);
      return;
    }
    if (lifetime.ended) return;
    const held = this.ivrCalls.get(account.mac) ?? 0;
    if (held >= (this.d.maxCallsPerDevice ?? 2)) {
      log.warn({ held }, 'too many IVR calls from one device at once');
      rejectQuietly(call, 486, 'Busy Here', log);
      return;
    }
    this.ivrCalls.set(account.mac, held + 1);
    let result: IvrRunResult | null = null;
    try {
      const session = await this.openSession(call, log);
      if (!session) return;
      try {
        result = await this.answerAndRun(call, session, status, account, log, lifetime);
      } finally {
        await session.close().catch((err: unknown) => log.warn({ err }, 'closing the media session failed'));
      }
    } finally {
      const left = (this.ivrCalls.get(account.mac) ?? 1) - 1;
      if (left > 0) this.ivrCalls.set(account.mac, left);
      else this.ivrCalls.delete(account.mac);
    }
    if (result?.checkSync && status !== 'unavailable') {
      await this.sendCheckSync(call, account, status.device.vendor, log);
    }
  }

  /** The device and its state now; 'unavailable' when the store failed (the caller hears so). */
  private async deviceStatus(mac: string, log: Logger): Promise<DeviceStatus | null | 'unavailable'> {
    try {
      return await this.d.auth.status(mac);
    } catch (err) {
      log.error({ err }, 'device state unknown: store unavailable');
      return 'unavailable';
    }
  }

  /** A media session for the call's offer, or null after rejecting the call. */
  private async openSession(call: InboundCall, log: Logger): Promise<MediaSession | null> {
    if (!call.offerSdp) {
      log.info('INVITE without an SDP offer');
      rejectQuietly(call, 488, 'Not Acceptable Here', log);
      return null;
    }
    try {
      return await this.d.media.createSession({ callId: call.callId, offerSdp: call.offerSdp, signallingAddress: call.source.address });
    } catch (err) {
      if (err instanceof NoCommonCodec) {
        log.info({ err }, 'no codec in common');
        rejectQuietly(call, 488, 'Not Acceptable Here', log);
      } else if (isPapgateError(err) && err.code === 'invalid') {
        log.info({ err }, 'malformed SDP offer');
        rejectQuietly(call, 400, 'Bad Request', log);
      } else {
        log.error({ err }, 'media engine failed');
        rejectQuietly(call, 503, 'Service Unavailable', log);
      }
      return null;
    }
  }

  private async answerAndRun(
    call: InboundCall,
    session: MediaSession,
    status: DeviceStatus | 'unavailable',
    account: SipAccount,
    log: Logger,
    lifetime: Lifetime,
  ): Promise<IvrRunResult | null> {
    if (lifetime.ended) return null;
    try {
      await call.answer(session.answerSdp);
    } catch (err) {
      log.info({ err, reason: lifetime.reason }, 'call not established');
      if (!lifetime.ended) await call.hangup().catch((e) => log.debug({ err: e }, 'hang-up after a failed answer failed'));
      return null;
    }
    if (lifetime.ended) return null; // ended between the ACK and now: the driver would never hear of it
    // A suspended device needs no PAP: like a stale authenticated phone, it only has to re-fetch.
    const start: StartState = status === 'unavailable' ? 'unavailable' : status.suspended ? 'successful' : status.state;
    const locale: Locale = status === 'unavailable' ? 'en' : status.locale;
    const driver = new IvrDriver({
      call,
      session,
      prompts: this.d.prompts,
      locale,
      settings: this.d.ivr,
      log,
      verify: verifyWith(this.d.auth, account.mac, call.clientAddress ?? call.source.address, log),
    });
    const maxCall = setTimeout(() => driver.end('maximum call time reached'), this.d.maxCallMs);
    try {
      return await driver.run(start);
    } finally {
      clearTimeout(maxCall);
    }
  }

  /** After the BYE: NOTIFY the phone where it registered, else where it called from. */
  private async sendCheckSync(call: InboundCall, account: SipAccount, vendor: Vendor, log: Logger): Promise<void> {
    const event = checkSyncEvent(vendor);
    try {
      const target = await this.notifyTarget(call, account);
      if (!target) {
        log.warn('no contact to send the check-sync to');
        return;
      }
      const status = await this.d.signalling.notify(target, event);
      log.info({ event, status, uri: target.uri }, 'check-sync sent');
    } catch (err) {
      log.warn({ err, event }, 'check-sync failed');
    }
  }

  private async notifyTarget(call: InboundCall, account: SipAccount): Promise<NotifyTarget | null> {
    const reg = await this.d.signalling.registration(account.username);
    if (reg) return notifyTargetOf(reg, account.username);
    if (call.contact) return { uri: call.contact, via: call.source, username: account.username };
    return null;
  }
}

/**
 * The gateway URI with the emergency number as its user part:
 * `sip:gw.example.net:5060;transport=tcp` + 112 -> `sip:112@gw.example.net:5060;transport=tcp`.
 */
export function emergencyTarget(gatewayUri: string, number: string): string {
  const m = /^(sips?):(?:[^@;?]*@)?([^\s@]+)$/i.exec(gatewayUri.trim());
  if (!m) throw invalid('emergencyGateway', `"${gatewayUri}" is not a SIP URI such as sip:gw.example.net:5060`);
  if (!/^[0-9*#+]{1,32}$/.test(number)) throw invalid('dialled', `"${number}" is not a dialable number`);
  return `${m[1]!.toLowerCase()}:${number.replace(/#/g, '%23')}@${m[2]}`;
}

/** Header values from the database: no line breaks or control characters, bounded length. */
function headerText(value: string): string {
  return value
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, 200);
}

function rejectQuietly(call: InboundCall, status: number, reason: string, log: Logger): void {
  try {
    call.reject(status, reason);
  } catch (err) {
    log.warn({ err, status }, 'could not send the final response');
  }
}

/** One key per caller IP: a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
function sourceIp(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address.toLowerCase();
}

/** An unproven call names nobody the caller chose: only where it came from. */
function unprovenHeaders(call: InboundCall): Record<string, string> {
  const { address, port } = call.source;
  return { Priority: 'emergency', 'X-Papgate-Source': `${address.includes(':') ? `[${address}]` : address}:${port}` };
}
