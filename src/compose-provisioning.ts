import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './app/deps';
import { Provisioning } from './app/provisioning';
import type { SourceLimits } from './app/source-limits';
import type { Config } from './config/config';
import type { Metrics } from './observability/metrics';
import type { Logger } from './ports/logger';
import { ClientAddress } from './provisioning/client-ip';
import { createProvisioningServer } from './provisioning/server';
import { sourceKey } from './domain/rate-limit';
import { canonicalIp } from './domain/trust';
import { limitConnections, type HttpConnectionLimits } from './compose-connections';
import { httpsOptions, watchTlsPair, type TlsFiles } from './tls-files';

/**
 * The provisioning HTTP service as the composition root builds it, in the
 * primary process or in each worker process of `papgate serve`.
 */

export function provisioningService(
  config: Config,
  deps: AppDeps,
  metrics: Metrics,
  log: Logger,
  sipPort: number,
  limits: SourceLimits | undefined,
  sipTlsPort = config.sipTlsPort,
): FastifyInstance {
  // Behind a SIP proxy (Kamailio), phones are told the proxy, not this node.
  const [proxyHost, proxyPort] = config.sipProxy?.split(':') ?? [];
  const sipHost = proxyHost ?? config.sipAdvertisedAddress ?? new URL(config.publicUrl).hostname;
  const provisioning = new Provisioning(deps, {
    publicUrl: config.publicUrl,
    sip: {
      server: sipHost,
      port: proxyHost ? Number(proxyPort ?? 5060) : sipPort,
      transport: config.sipTransports.includes('udp') ? 'udp' : 'tcp',
      // A SIP proxy in front speaks to phones on its own terms: TLS only when phones reach papgate directly.
      tlsPort: proxyHost ? undefined : sipTlsPort,
    },
    emergencyNumbers: config.emergencyNumbers,
    hotline: config.hotline,
    minimalResyncSeconds: config.minimalResyncSeconds,
    fullResyncSeconds: config.fullResyncSeconds,
  });
  const app = createProvisioningServer({
    provisioning,
    log: log.child({ part: 'provisioning' }),
    metrics,
    trustedProxies: config.trustedProxies,
    limits,
    https: httpsOptions(provisioningTls(config), config.tlsHandshakeSeconds * 1000),
    deviceCertificates: provisioningTls(config)?.caPath !== undefined,
  });
  // A trusted proxy carries many phones: it is capped only by the total.
  const proxies = new ClientAddress(config.trustedProxies);
  limitConnections(app.server, provisioningConnectionLimits(config), {
    keyOf: (address) => (proxies.isProxyAddress(address) ? null : sourceOf(limits, address)),
    admit: (address) => !limits || proxies.isProxyAddress(address) || limits.provisioningConnection(address),
    onRefused: (why) => metrics.rateLimited.inc({ limit: why === 'total' ? 'provisioning_connections' : 'provisioning_connections_source', action: 'dropped' }),
  });
  return app;
}

/** A phone's request is a few hundred bytes: all of it within this, or 408 (as the provisioning server's own default). */
const PROVISIONING_REQUEST_MS = 15_000;

/** What the provisioning port's connections may hold (compose-connections.ts). */
export function provisioningConnectionLimits(config: Config): HttpConnectionLimits {
  return {
    maxConnections: config.provisioningMaxConnections,
    maxConnectionsPerSource: config.provisioningMaxConnectionsPerSource,
    idleMs: config.provisioningIdleSeconds * 1000,
    headersMs: PROVISIONING_REQUEST_MS,
    requestMs: PROVISIONING_REQUEST_MS,
  };
}

/** The key a peer's connections count under (exempt sources: none); without limits configured, its address or /64. */
export function sourceOf(limits: SourceLimits | undefined, address: string): string | null {
  return limits ? limits.keyOf(address) : sourceKey(canonicalIp(address) ?? address);
}

/** The provisioning port's certificate files, when it speaks HTTPS, with the device CA for mutual TLS if set. */
export function provisioningTls(config: Config): TlsFiles | undefined {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  return { certPath: config.tlsCert, keyPath: config.tlsKey, ...(config.deviceCa ? { caPath: config.deviceCa } : {}) };
}

/** The admin port's certificate files, when it speaks HTTPS. */
export function adminTls(config: Config): TlsFiles | undefined {
  return config.adminTlsCert && config.adminTlsKey ? { certPath: config.adminTlsCert, keyPath: config.adminTlsKey } : undefined;
}

export interface TlsReload {
  files: TlsFiles | undefined;
  intervalMs: number;
  log: Logger;
}

/**
 * Listens, registers the close with `stops`, and says where it listens.
 * With certificate files, watches them for renewal until the close.
 */
export async function listen(app: FastifyInstance, host: string, port: number, stops: (() => Promise<unknown>)[], tls?: TlsReload): Promise<string> {
  await app.listen({ host, port });
  stops.push(() => app.close());
  if (tls?.files) {
    const unwatch = watchTlsPair(app.server as unknown as TlsServer, tls.files, tls.intervalMs, tls.log);
    stops.push(async () => unwatch());
  }
  return shownUrl(host, (app.server.address() as AddressInfo).port, tls?.files ? 'https' : 'http');
}

export function shownUrl(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
