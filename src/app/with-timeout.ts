/** Thrown by withTimeout when the promise did not settle in time. */
export class TimedOut extends Error {
  override readonly name = 'TimedOut';
}

/**
 * The promise's outcome, or a TimedOut rejection after `ms`. The promise
 * itself keeps running (a store query cannot be cancelled); its late
 * rejection is swallowed here so it never becomes an unhandled one.
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`no answer within ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a late failure after the timeout has nobody left to tell
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
