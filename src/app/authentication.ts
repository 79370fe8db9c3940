import { attempt, effectiveState, isSuspended, type AttemptResult } from '../domain/auth';
import { notFound } from '../domain/errors';
import { canonicalIp } from '../domain/trust';
import type { AuthState, Device, Locale } from '../domain/types';
import type { AppDeps } from './deps';
import { announcingStateChanges } from './webhook-events';

export interface DeviceStatus {
  device: Device;
  /** The state now (lazy timers applied). */
  state: AuthState;
  /** The prompt language: the site's override, else the tenant's. */
  locale: Locale;
  /** Authentication is suspended: the phone's next fetch gets the full configuration anyway. */
  suspended: boolean;
}

/**
 * The public IP a PAP success trusts (section 6 of docs/behaviour.md): the source of the
 * device's last provisioning request, failing that, of the SIP call. Anyone
 * who knows the MAC can make provisioning requests, so the last one only
 * counts when it came from where the call that knew the PAP came from;
 * otherwise an attacker polling the MAC would earn the tenant's trust.
 */
export function ipToTrust(lastProvisionedIp: string | null, sipSourceIp: string | null): string | null {
  const sip = sipSourceIp === null ? null : canonicalIp(sipSourceIp);
  if (lastProvisionedIp !== null && (sip === null || lastProvisionedIp === sip)) return lastProvisionedIp;
  return sip;
}

/** Hears of each PAP attempt: its outcome, the device, and when a lock-out it caused ends. */
export type AttemptListener = (outcome: AttemptResult['outcome'], attempt: { mac: string; lockedUntil: number | null }) => void;

/** PAP attempts from the IVR (sections 4 and 8 of docs/behaviour.md). */
export class Authentication {
  constructor(
    private readonly d: AppDeps,
    /** Told every attempt's outcome (metrics, the lock-out end notifier); never the PIN. */
    private readonly onAttempt: AttemptListener = () => {},
  ) {}

  async status(mac: string): Promise<DeviceStatus | null> {
    const device = await this.d.store.getDevice(mac);
    if (!device) return null;
    const tenant = await this.d.store.getTenantById(device.tenantId);
    const site = device.siteId !== null ? await this.d.store.getSiteById(device.siteId) : null;
    const now = this.d.clock.now();
    return {
      device,
      state: effectiveState(device.auth, now),
      suspended: isSuspended(device.auth, now),
      locale: site?.locale ?? tenant?.locale ?? 'en',
    };
  }

  /**
   * One PAP attempt: read, compare and write in one store transaction, so
   * parallel calls from one device cannot get more guesses than one call.
   * The first success also trusts the device's public IP for its tenant.
   */
  async attempt(mac: string, entered: string, sourceIp: string | null): Promise<AttemptResult> {
    const now = this.d.clock.now();
    const { policy } = this.d;
    const result = await this.d.store.mutateDevice(
      mac,
      announcingStateChanges(this.d.random, now, (device) => {
        if (!device) throw notFound(`no device ${mac}`);
        const r = attempt(device.auth, entered, now, policy);
        const trustIp = r.outcome === 'success' ? ipToTrust(device.lastProvisionedIp, sourceIp) : null;
        return {
          next: { ...device, auth: r.auth },
          result: r,
          audit: [
            {
              at: now,
              tenantId: device.tenantId,
              mac,
              sourceIp,
              actor: 'phone',
              action: 'pap-attempt',
              outcome: r.outcome,
            },
          ],
          trust: trustIp ? [{ tenantId: device.tenantId, ip: trustIp, until: now + policy.trustMs }] : [],
        };
      }),
    );
    this.onAttempt(result.outcome, { mac, lockedUntil: result.lockedUntil });
    return result;
  }
}
