import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './app/deps';
import { Provisioning } from './app/provisioning';
import type { SourceLimits } from './app/source-limits';
import type { Config } from './config/config';
import type { Metrics } from './observability/metrics';
import type { Logger } from './ports/logger';
import { createProvisioningServer } from './provisioning/server';

/**
 * The provisioning HTTP service as the composition root builds it, in the
 * primary process or in each worker process of `papgate serve`.
 */

export function provisioningService(
  config: Config, deps: AppDeps, metrics: Metrics, log: Logger, sipPort: number, limits: SourceLimits | undefined,
): FastifyInstance {
  // Behind a SIP proxy (Kamailio), phones are told the proxy, not this node.
  const [proxyHost, proxyPort] = config.sipProxy?.split(':') ?? [];
  const sipHost = proxyHost ?? config.sipAdvertisedAddress ?? new URL(config.publicUrl).hostname;
  const provisioning = new Provisioning(deps, {
    publicUrl: config.publicUrl,
    sip: { server: sipHost, port: proxyHost ? Number(proxyPort ?? 5060) : sipPort, transport: config.sipTransports.includes('udp') ? 'udp' : 'tcp' },
    emergencyNumbers: config.emergencyNumbers,
    hotline: config.hotline,
    minimalResyncSeconds: config.minimalResyncSeconds,
    fullResyncSeconds: config.fullResyncSeconds,
  });
  return createProvisioningServer({
    provisioning, log: log.child({ part: 'provisioning' }), metrics, trustedProxies: config.trustedProxies, limits,
  });
}

/** Listens, registers the close with `stops`, and says where it listens. */
export async function listen(app: FastifyInstance, host: string, port: number, stops: (() => Promise<unknown>)[]): Promise<string> {
  await app.listen({ host, port });
  stops.push(() => app.close());
  return shownUrl(host, (app.server.address() as AddressInfo).port);
}

export function shownUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
