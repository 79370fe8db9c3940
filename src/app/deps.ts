import type { Policy } from '../domain/policy';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Random } from '../ports/random';
import type { Store } from '../ports/store';

/** What every use case gets from the composition root (src/main.ts). */
export interface AppDeps {
  store: Store;
  clock: Clock;
  random: Random;
  policy: Policy;
  log: Logger;
}
