import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one papgate process, served on the admin port at /metrics. */
export class Metrics {
  readonly registry = new Registry();

  readonly provisioningRequests = new Counter({
    name: 'papgate_provisioning_requests_total',
    help: 'Provisioning requests by vendor and decision (full, minimal, unknown, rejected)',
    labelNames: ['vendor', 'decision'] as const,
    registers: [this.registry],
  });

  readonly adminActions = new Counter({
    name: 'papgate_admin_actions_total',
    help: 'Admin actions by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'papgate_store_errors_total',
    help: 'Store operations that failed (database unavailable, busy, I/O)',
    labelNames: ['surface'] as const,
    registers: [this.registry],
  });

  readonly papAttempts = new Counter({
    name: 'papgate_pap_attempts_total',
    help: 'PAP attempts from the IVR by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly calls = new Counter({
    name: 'papgate_calls_total',
    help: 'Calls that passed SIP admission, by route (ivr, emergency)',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly mediaRefusals = new Counter({
    name: 'papgate_media_refusals_total',
    help: 'Calls the media server refused, by reason (no-rtp-ports, busy, no-common-codec, error)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly activeCalls = new Gauge({
    name: 'papgate_active_calls',
    help: 'Calls in progress',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'papgate_' });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
