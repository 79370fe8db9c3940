import { TimedOut, withTimeout } from './app/with-timeout';
import type { Store } from './ports/store';

/** Part of the composition root: what /readyz reports of the store. */

/** How long /readyz waits for the store's write probe before calling it not ready. */
const STORE_PING_TIMEOUT_MS = 2000;

/** True when the store could take a write now; otherwise why not (for /readyz). */
export async function storeWritable(store: Store): Promise<true | string> {
  try {
    await withTimeout(store.ping(), STORE_PING_TIMEOUT_MS);
    return true;
  } catch (e) {
    return e instanceof TimedOut
      ? `the store did not answer a write probe within ${STORE_PING_TIMEOUT_MS} ms`
      : `the store cannot write: ${(e as Error).message}`;
  }
}
