import { effectiveState } from '../domain/auth';
import type { Device } from '../domain/types';
import { announcedState } from '../domain/webhook';
import type { Random } from '../ports/random';
import type { DeviceChange } from '../ports/store';
import type { NewWebhookEvent } from '../ports/webhooks';

/** A random event id receivers de-duplicate on: `evt_` and 128 bits in hex. */
export function newEventId(random: Random): string {
  return `evt_${Buffer.from(random.bytes(16)).toString('hex')}`;
}

/**
 * Wraps a device change so that a device entering `blocked`, `failed` or
 * `successful` enqueues a webhook event in the same store transaction. The
 * states compared are the effective ones at `now`: a lock-out that has run
 * out reads as `needed`, so the next lock-out is announced again.
 */
export function announcingStateChanges<T>(
  random: Random,
  now: number,
  mutate: (device: Device | null) => DeviceChange<T>,
): (device: Device | null) => DeviceChange<T> {
  return (device) => {
    const change = mutate(device);
    const next = change.next;
    if (!next) return change;
    const state = announcedState(device ? effectiveState(device.auth, now) : null, effectiveState(next.auth, now));
    if (state === null) return change;
    const event: NewWebhookEvent = { id: newEventId(random), tenantId: next.tenantId, mac: next.mac, siteId: next.siteId, state, at: now };
    return { ...change, webhookEvents: [...(change.webhookEvents ?? []), event] };
  };
}
