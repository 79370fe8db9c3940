import { readFileSync } from 'node:fs';
import { WebhookDispatcher } from './app/webhook-dispatcher';
import type { AppDeps } from './app/deps';
import type { Config } from './config/config';
import { createHttpSender } from './webhooks/http-sender';

/** Response bytes read from a receiver at most (the body is never used). */
const MAX_RESPONSE_BYTES = 4096;

/** The webhook dispatcher the Config describes, started; stop it before the store closes. */
export function startWebhooks(config: Config, deps: AppDeps): WebhookDispatcher {
  const sender = createHttpSender({
    connectTimeoutMs: config.webhookConnectTimeoutSeconds * 1000,
    totalTimeoutMs: config.webhookTimeoutSeconds * 1000,
    maxResponseBytes: MAX_RESPONSE_BYTES,
    allowPrivateTargets: config.webhookPrivateTargets === 'allow',
    extraCaPem: config.webhookCa ? readCa(config.webhookCa) : undefined,
  });
  const dispatcher = new WebhookDispatcher(
    { ...deps, log: deps.log.child({ part: 'webhooks' }), sender },
    {
      backoff: {
        firstDelayMs: config.webhookRetrySeconds * 1000,
        maxDelayMs: config.webhookRetryMaxSeconds * 1000,
        maxAttempts: config.webhookMaxAttempts,
        maxAgeMs: config.webhookMaxAgeHours * 3600_000,
      },
      concurrency: config.webhookConcurrency,
      perTenant: config.webhookPerTenant,
      pollMs: config.webhookPollSeconds * 1000,
      // Past the sender's own deadline with room to record the outcome: another node takes over only after that.
      leaseMs: (config.webhookTimeoutSeconds + config.webhookConnectTimeoutSeconds) * 1000 + 30_000,
      stopWaitMs: 5000,
    },
  );
  dispatcher.start();
  return dispatcher;
}

/** The CA bundle file; a file that cannot be read stops start-up with its name. */
function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`PAPGATE_WEBHOOK_CA=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
