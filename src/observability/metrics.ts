import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One process's metrics as prom-client JSON (what workers send the primary). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

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

  readonly rateLimited = new Counter({
    name: 'papgate_rate_limited_total',
    help: 'Requests refused by a per-source rate limit, by limit and whether an answer was sent (answered) or not (dropped)',
    labelNames: ['limit', 'action'] as const,
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

  /** Other processes' metrics (provisioning workers), summed into render(). */
  private others: (() => Promise<MetricsJson[]>) | undefined;

  addProcesses(collect: () => Promise<MetricsJson[]>): void {
    this.others = collect;
  }

  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    if (!this.others) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const theirs = await this.others();
    const merged = AggregatorRegistry.aggregate([await this.json(), ...theirs]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
