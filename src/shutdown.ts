/**
 * The signal handler of `papgate serve`: runs every stop in order once, even
 * when one fails, then exits (0, or 1 when a stop failed). A signal listener
 * cannot await, so nothing here may reject: a failure is reported, never an
 * unhandled rejection.
 */
export function shutdownOnce(stops: readonly (() => Promise<void>)[], exit: (code: number) => void, report: (message: string) => void): () => void {
  let stopping = false;
  return () => {
    if (stopping) return;
    stopping = true;
    void runStops(stops, report).then(
      (failed) => exit(failed ? 1 : 0),
      (e: unknown) => {
        // runStops catches each stop's failure; this is for a report that throws
        report(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        exit(1);
      },
    );
  };
}

/** True when a stop failed; the others still run. */
async function runStops(stops: readonly (() => Promise<void>)[], report: (message: string) => void): Promise<boolean> {
  let failed = false;
  for (const stop of stops) {
    try {
      await stop();
    } catch (e) {
      failed = true;
      report(`error while stopping: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return failed;
}
