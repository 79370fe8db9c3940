import { EMERGENCY_NUMBER, normaliseDialled } from '../domain/dialplan';
import type { Logger } from '../ports/logger';
import type { SipAccount } from '../ports/signalling';
import type { Store } from '../ports/store';
import { withTimeout } from './with-timeout';

/**
 * Whether a proven device dialled one of its site's own emergency numbers.
 * These only add to the global list (checked before this, for every caller);
 * an unproven caller has no site, so it only ever gets the global list. When
 * the store does not answer in time the call is not treated as an emergency
 * here: the global numbers never depend on the store.
 */
export async function isSiteEmergency(store: Store, account: SipAccount | null, dialled: string, timeoutMs: number, log: Logger): Promise<boolean> {
  if (!account) return false;
  const number = normaliseDialled(dialled);
  // Saves the store two reads for what cannot be an emergency number anyway.
  if (!EMERGENCY_NUMBER.test(number)) return false;
  try {
    return (await withTimeout(siteEmergencyNumbers(store, account.mac), timeoutMs)).includes(number);
  } catch (err) {
    log.warn({ err }, 'site emergency numbers unknown (store did not answer): only the global ones apply');
    return false;
  }
}

/** The emergency numbers of the device's site; none without a site. */
async function siteEmergencyNumbers(store: Store, mac: string): Promise<readonly string[]> {
  const device = await store.getDevice(mac);
  if (device?.siteId == null) return [];
  return (await store.getSiteById(device.siteId))?.emergencyNumbers ?? [];
}
