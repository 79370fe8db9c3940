import type { Vendor } from '../types';

/**
 * The `Event:` value of the NOTIFY that makes a phone re-fetch its
 * configuration. Sipura-heritage devices (Linksys PAP2/SPA, Cisco SPA ATAs)
 * know `resync` (their `reboot_now` is a cold restart, more than we need);
 * snom takes a reboot flag, which we clear; the others answer plain
 * `check-sync` (Yealink then reboots by default, which applies the new lines).
 */
const EVENT_BY_VENDOR: Readonly<Record<Vendor, string>> = Object.freeze({
  yealink: 'check-sync',
  snom: 'check-sync;reboot=false',
  poly: 'check-sync',
  cisco: 'resync',
  linksys: 'resync',
  gigaset: 'check-sync',
  patton: 'check-sync',
  panasonic: 'check-sync',
});

/** Falls back to plain `check-sync`, the most widely understood value, for anything unknown. */
export function checkSyncEvent(vendor: Vendor | string): string {
  return Object.prototype.hasOwnProperty.call(EVENT_BY_VENDOR, vendor) ? EVENT_BY_VENDOR[vendor as Vendor] : 'check-sync';
}
