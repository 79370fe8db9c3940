import { markSuccessful } from '../domain/auth';
import { encodeSecret, hashSecret, looksLikeSecret, matchHash, matchSecret, rotate, SECRET_BYTES } from '../domain/identity-secret';
import { decide, minimalLabel, type FullReason } from '../domain/provisioning-decision';
import { canonicalIp, isTrusted } from '../domain/trust';
import type { AuthState, Device, Line, Site, Vendor } from '../domain/types';
import type { DeviceChange } from '../ports/store';
import type { AppDeps } from './deps';
import { announcingStateChanges } from './webhook-events';

/** Settings the provisioning use case needs (from Config). */
export interface ProvisioningSettings {
  /** Public base URL phones reach papgate's provisioning service at, without trailing slash. */
  publicUrl: string;
  /**
   * papgate's own SIP service as phones must reach it. `tlsPort`: SIP over
   * TLS is on there, and phones whose template can say so use it instead.
   */
  sip: { server: string; port: number; transport: 'udp' | 'tcp'; tlsPort?: number | undefined };
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
  /**
   * The MACs a client certificate names, once verified against the device CA
   * (mutual TLS); naming this request's MAC proves the device like the secret.
   */
  certificateMacs?: readonly string[];
  /** The vendors whose file format the request asked for: another vendor's device reads as unknown. */
  vendors?: readonly Vendor[];
  /** Decide only, write nothing (HEAD requests): no secret is minted, nothing is recorded. */
  readOnly?: boolean;
}

export interface MinimalConfig {
  kind: 'minimal';
  /**
   * Only what identifies the device: a minimal file is the same for every
   * device with the same MAC, vendor, state and SIP credentials, which lets
   * the provisioning server fill in stencils (src/provisioning/minimal-files.ts).
   */
  device: Pick<Device, 'mac' | 'vendor'>;
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
  reason: FullReason;
  lines: readonly Line[];
  resyncSeconds: number;
  /** Per-device provisioning URL embedding the new identity secret (ends with '/'). */
  provisioningUrl: string;
}

export type ProvisioningResult = { kind: 'unknown' } | MinimalConfig | FullConfig;

/** Rewrite the last-seen IP/time on minimal requests at most this often (keeps polling read-mostly). */
const LAST_SEEN_WRITE_MS = 60_000;

function lastSeenStale(d: Device, ip: string, now: number): boolean {
  return d.lastProvisionedIp !== ip || (d.lastProvisionedAt ?? 0) < now - LAST_SEEN_WRITE_MS;
}

/** Section 7 of docs/behaviour.md: decides and records what one provisioning request gets. */
export class Provisioning {
  /** Where phones in the minimal configuration fetch from (vendor file names appended by the phone). */
  private readonly minimalUrl: string;
  /** The global emergency numbers and a site's, by the site as the store returned it (its copies are shared). */
  private readonly withSite = new WeakMap<Site, readonly string[]>();

  constructor(
    private readonly d: AppDeps,
    private readonly s: ProvisioningSettings,
  ) {
    this.minimalUrl = `${s.publicUrl}/`;
  }

  async handle(req: ProvisioningRequest): Promise<ProvisioningResult> {
    const { store, clock } = this.d;
    if (req.secret !== null && !req.readOnly && looksLikeSecret(req.secret)) {
      const proved = await this.bySecret(req, req.secret);
      if (proved !== null) return proved;
    }
    const first = await store.getDevice(req.mac);
    if (!first || (req.vendors && !req.vendors.includes(first.vendor))) return { kind: 'unknown' };
    const ip = canonicalIp(req.ip) ?? req.ip;
    const now = clock.now();
    const [permanent, temporary] = await Promise.all([store.listAllowEntries(first.tenantId), store.listTemporaryTrust(first.tenantId, now)]);
    const trusted = isTrusted(ip, permanent, temporary, now);
    const certificateValid = req.certificateMacs?.includes(first.mac) ?? false;
    const decision = decide({ auth: first.auth, secretValid: matchSecret(first, req.secret) !== null, certificateValid, trusted, now });
    // Read before the transaction below, which cannot wait for the store: it may still decide on a minimal one.
    const emergencyNumbers = first.siteId === null ? this.s.emergencyNumbers : await this.withSiteNumbers(first.siteId);
    if (decision.config === 'minimal') {
      // Polling phones: a read, no transaction. Only last-seen may change: the store writes it behind, batched.
      if (!req.readOnly && lastSeenStale(first, ip, now)) await store.recordLastSeen(first.mac, ip, now);
      return this.minimal(first, decision.state, emergencyNumbers);
    }
    if (req.readOnly) {
      return this.fullResult(first, decision.reason, '');
    }
    const newSecret = encodeSecret(this.d.random.bytes(SECRET_BYTES));
    return store.mutateDevice<ProvisioningResult>(
      req.mac,
      announcingStateChanges(this.d.random, now, (device) => {
        if (!device) return { result: { kind: 'unknown' } };
        // Decide again on what the transaction read: the device may have changed since.
        const matched = matchSecret(device, req.secret);
        const current = decide({ auth: device.auth, secretValid: matched !== null, certificateValid, trusted, now });
        if (current.config === 'minimal') {
          const next = { ...device, lastProvisionedIp: ip, lastProvisionedAt: now };
          return { next, result: this.minimal(next, current.state, emergencyNumbers) };
        }
        return this.full(device, current.reason, matched && req.secret ? hashSecret(req.secret) : null, newSecret, ip, now);
      }),
    );
  }

  /**
   * A request on a per-device URL, the routine resync of a provisioned
   * phone: the secret alone decides (rule 2), so the device is read once,
   * inside the transaction that rotates the secret. Null when the secret
   * is not the device's (then the request is decided like any other; the
   * transaction wrote nothing).
   */
  private async bySecret(req: ProvisioningRequest, secret: string): Promise<ProvisioningResult | null> {
    const ip = canonicalIp(req.ip) ?? req.ip;
    const now = this.d.clock.now();
    const presentedHash = hashSecret(secret);
    const newSecret = encodeSecret(this.d.random.bytes(SECRET_BYTES));
    return this.d.store.mutateDevice<ProvisioningResult | null>(
      req.mac,
      announcingStateChanges(this.d.random, now, (device) => {
        if (!device || (req.vendors && !req.vendors.includes(device.vendor))) return { result: { kind: 'unknown' } };
        if (matchHash(device, presentedHash) === null) return { result: null };
        return this.full(device, 'secret', presentedHash, newSecret, ip, now);
      }),
    );
  }

  /** The change a full configuration makes: new secret, device successful, trust window for the IP. */
  private full(
    device: Device,
    reason: FullConfig['reason'],
    presentedHash: string | null,
    newSecret: string,
    ip: string,
    now: number,
  ): DeviceChange<ProvisioningResult> {
    const next: Device = {
      ...device,
      ...rotate(device, presentedHash, hashSecret(newSecret)),
      auth: markSuccessful(device.auth),
      lastProvisionedIp: ip,
      lastProvisionedAt: now,
    };
    const until = now + this.d.policy.trustMs;
    // A suspension opens one device, not a network: a configuration it alone earned trusts no IP.
    const earnsTrust = reason !== 'suspended';
    // A device that proves itself again on its routine resync is not news.
    const quiet = device.auth.state === 'successful' && (reason === 'secret' || reason === 'certificate');
    return {
      next,
      result: this.fullResult(next, reason, newSecret),
      audit: quiet
        ? []
        : [
            {
              at: now,
              tenantId: device.tenantId,
              mac: device.mac,
              sourceIp: ip,
              actor: 'phone',
              action: 'provision-full',
              outcome: reason,
            },
          ],
      // The store leaves a window extended moments ago as it is (TRUST_EXTENSION_STEP_MS).
      trust: earnsTrust ? [{ tenantId: device.tenantId, ip, until }] : [],
    };
  }

  private fullResult(device: Device, reason: FullConfig['reason'], secret: string): FullConfig {
    return {
      kind: 'full',
      device,
      reason,
      lines: device.lines,
      resyncSeconds: this.s.fullResyncSeconds,
      provisioningUrl: `${this.s.publicUrl}/p/${secret}/`,
    };
  }

  /**
   * The numbers a phone of this site treats as emergency numbers in the
   * minimal configuration: the global ones, then the site's own
   * (docs/behaviour.md, section 8), never fewer. One array per site copy the
   * store keeps, so a poll builds no list (the file cache keys on it too).
   */
  private async withSiteNumbers(siteId: number): Promise<readonly string[]> {
    const site = await this.d.store.getSiteById(siteId);
    if (site === null || site.emergencyNumbers.length === 0) return this.s.emergencyNumbers;
    let merged = this.withSite.get(site);
    if (merged === undefined) {
      const global = this.s.emergencyNumbers;
      merged = Object.freeze([...global, ...site.emergencyNumbers.filter((n) => !global.includes(n))]);
      this.withSite.set(site, merged);
    }
    return merged;
  }

  private minimal(device: Device, state: AuthState, emergencyNumbers: readonly string[]): MinimalConfig {
    // Field by field: spreading the settings into a new object with more keys took V8's slow path (~0.8 us).
    const { server, port, transport, tlsPort } = this.s.sip;
    return {
      kind: 'minimal',
      device,
      state,
      label: minimalLabel(state),
      sip: { server, port, transport, tlsPort, username: device.sipUsername, password: device.sipPassword },
      emergencyNumbers,
      hotline: this.s.hotline,
      resyncSeconds: this.s.minimalResyncSeconds,
      provisioningUrl: this.minimalUrl,
    };
  }
}
