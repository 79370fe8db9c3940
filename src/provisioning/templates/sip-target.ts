import type { MinimalConfig } from './types';

export type SipTransportName = 'udp' | 'tcp' | 'tls';

/**
 * Where a phone whose template can configure SIP over TLS registers: the
 * TLS port when papgate has one, else the plain port and transport.
 */
export function sipTarget(sip: MinimalConfig['sip']): { port: number; transport: SipTransportName } {
  return sip.tlsPort ? { port: sip.tlsPort, transport: 'tls' } : { port: sip.port, transport: sip.transport };
}
