import { markSuccessful } from '../domain/auth';
import { encodeSecret, hashSecret, matchSecret, rotate, SECRET_BYTES } from '../domain/identity-secret';
import { decide, minimalLabel } from '../domain/provisioning-decision';
import { canonicalIp, isTrusted } from '../domain/trust';
import type { AuthState, Device, Line } from '../domain/types';
import type { AppDeps } from './deps';

/** Settings the provisioning use case needs (from Config). */
export interface ProvisioningSettings {
  /** Public base URL phones reach papgate's provisioning service at, without trailing slash. */
  publicUrl: string;
  /** papgate's own SIP service as phones must reach it. */
  sip: { server: string; port: number; transport: 'udp' | 'tcp' };
  emergencyNumbers: readonly string[];
  /** Number a phone dials on off-hook in the minimal configuration. */
  hotline: string;
  /** Re-provisioning interval of the minimal configuration (short) and of the full one. */
  minimalResyncSeconds: number;
  fullResyncSeconds: number;
}

export interface ProvisioningRequest {
  mac: string;
  /** The client's public IP (socket address, or X-Forwarded-For from a trusted proxy). */
  ip: string;
  /** The identity secret from the per-device URL, if the request came that way. */
  secret: string | null;
}

export interface MinimalConfig {
  kind: 'minimal';
  device: Device;
  state: AuthState;
  label: string;
  sip: ProvisioningSettings['sip'] & { username: string; password: string };
  emergencyNumbers: readonly string[];
  hotline: string;
  resyncSeconds: number;
  /** Where the phone fetches its configuration (base URL, vendor file names appended by the phone). */
  provisioningUrl: string;
}

export interface FullConfig {
  kind: 'full';
  device: Device;
  reason: 'secret' | 'suspended' | 'trusted';
  lines: Line[];
  resyncSeconds: number;
  /** Per-device provisioning URL embedding the new identity secret (ends with '/'). */
  provisioningUrl: string;
}

export type ProvisioningResult = { kind: 'unknown' } | MinimalConfig | FullConfig;

/** Rewrite the last-seen IP/time on minimal requests at most this often (keeps polling read-mostly). */
const LAST_SEEN_WRITE_MS = 60_000;

/** SPEC section 7: decides and records what one provisioning request gets. */
export class Provisioning {
  constructor(private readonly d: AppDeps, private readonly s: ProvisioningSettings) {}

  async handle(req: ProvisioningRequest): Promise<ProvisioningResult> {
    const { store, clock, policy } = this.d;
    const first = await store.getDevice(req.mac);
    if (!first) return { kind: 'unknown' };
    const ip = canonicalIp(req.ip) ?? req.ip;
    const now = clock.now();
    const [permanent, temporary] = await Promise.all([
      store.listAllowEntries(first.tenantId),
      store.listTemporaryTrust(first.tenantId, now),
    ]);
    const trusted = isTrusted(ip, permanent, temporary, now);
    const newSecret = encodeSecret(this.d.random.bytes(SECRET_BYTES));

    return store.mutateDevice<ProvisioningResult>(req.mac, (device) => {
      if (!device) return { result: { kind: 'unknown' } };
      const matched = matchSecret(device, req.secret);
      const decision = decide({ auth: device.auth, secretValid: matched !== null, trusted, now });
      if (decision.config === 'minimal') {
        const stale = device.lastProvisionedIp !== ip || (device.lastProvisionedAt ?? 0) < now - LAST_SEEN_WRITE_MS;
        const next = stale ? { ...device, lastProvisionedIp: ip, lastProvisionedAt: now } : undefined;
        return { next, result: this.minimal(next ?? device, decision.state) };
      }
      const presentedHash = matched && req.secret ? hashSecret(req.secret) : null;
      const next: Device = {
        ...device,
        ...rotate(device, presentedHash, hashSecret(newSecret)),
        auth: markSuccessful(device.auth),
        lastProvisionedIp: ip,
        lastProvisionedAt: now,
      };
      const wasSuccessful = device.auth.state === 'successful';
      return {
        next,
        result: {
          kind: 'full', device: next, reason: decision.reason, lines: next.lines,
          resyncSeconds: this.s.fullResyncSeconds,
          provisioningUrl: `${this.s.publicUrl}/p/${newSecret}/`,
        },
        audit: wasSuccessful && decision.reason === 'secret' ? [] : [{
          at: now, tenantId: device.tenantId, mac: device.mac, sourceIp: ip, actor: 'phone',
          action: 'provision-full', outcome: decision.reason,
        }],
        trust: [{ tenantId: device.tenantId, ip, until: now + policy.trustMs }],
      };
    });
  }

  private minimal(device: Device, state: AuthState): MinimalConfig {
    return {
      kind: 'minimal', device, state, label: minimalLabel(state),
      sip: { ...this.s.sip, username: device.sipUsername, password: device.sipPassword },
      emergencyNumbers: this.s.emergencyNumbers,
      hotline: this.s.hotline,
      resyncSeconds: this.s.minimalResyncSeconds,
      provisioningUrl: `${this.s.publicUrl}/`,
    };
  }
}
