import { SourceLimits } from './app/source-limits';
import type { Config } from './config/config';
import type { Policy } from './domain/policy';
import type { Metrics } from './observability/metrics';
import type { Clock } from './ports/clock';

/** Part of the composition root: the PAP policy and the per-source limits the Config names. */

export function policyFrom(c: Config): Policy {
  return {
    maxFailures: c.maxFailures,
    lockoutMs: c.lockoutSeconds * 1000,
    maxLockouts: c.maxLockouts,
    suspendMs: c.suspendSeconds * 1000,
    trustMs: c.trustSeconds * 1000,
  };
}

export function sourceLimitsFrom(c: Config, clock: Clock, metrics: Metrics): SourceLimits {
  return new SourceLimits(
    {
      sipRequestsPerSecond: c.limitSipPerSecond,
      sipRequestsBurst: c.limitSipBurst,
      ivrCallsPerMinutePerSource: c.limitIvrCallsPerMinute,
      ivrCallsPerMinutePerDevice: c.limitIvrCallsPerDevicePerMinute,
      provisioning404PerMinute: c.limitProvisioning404PerMinute,
      provisioning404Burst: c.limitProvisioning404Burst,
      provisioningPerSecond: c.limitProvisioningPerSecond,
      provisioningBurst: c.limitProvisioningBurst,
      maxSources: c.limitMaxSources,
      exempt: c.limitExempt,
    },
    clock,
    (limit, action) => metrics.rateLimited.inc({ limit, action }),
  );
}
