import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * CPU profiles of benchmark rows: with BENCH_PROFILE_DIR set, a row served
 * from the bench's own process is sampled by V8's profiler (the same one as
 * `node --cpu-prof`) and written there as <name>.cpuprofile, one per row.
 * Summarise with `node --require tsx/cjs bench/profile-summary.ts FILE`. (Servers
 * the bench starts as child processes are profiled by profile.ts instead.)
 * Sampling costs a few % of CPU: a profiled run's figures are not the table's.
 */

export interface RowProfiler {
  stop(): Promise<void>;
}

const NONE: RowProfiler = { stop: async () => undefined };

export async function profileRow(name: string): Promise<RowProfiler> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return NONE;
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => {
      session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
    });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      session.disconnect();
      const file = join(dir, `${name.replace(/[^A-Za-z0-9]+/g, '-')}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      console.log(`profile: ${file}`);
    },
  };
}
