import { dialString, splitHostPort, xml } from './escape';
import { sipTarget } from './sip-target';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Poly (Polycom UC Software: VVX, SoundPoint, Trio). A phone fetches the
 * master configuration `<mac>.cfg` (or `000000000000.cfg` when that is
 * missing), which names `<mac>-phone.cfg`, where the settings are. Parameter
 * names from Poly's UC Software administrator guide. The minimal
 * configuration does NOT enable Poly's hot-line (`call.autoOffHook`): it
 * dials the moment the handset is lifted, with no delay, which would keep a
 * person from dialling an emergency number by hand. Every number a minimal
 * phone dials reaches papgate's IVR anyway (section 8 of docs/behaviour.md).
 */

/** Registrations cleared beyond the configured ones. */
const MAX_REGISTRATIONS = 12;

class PhoneConfig {
  private readonly attrs: string[] = [];
  set(name: string, value: string | number): this {
    this.attrs.push(`    ${name}="${xml(String(value))}"`);
    return this;
  }
  toString(): string {
    return ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', '<PHONE_CONFIG>', '  <ALL', ...this.attrs, '  />', '</PHONE_CONFIG>', ''].join('\n');
  }
}

interface Registration {
  label: string;
  address: string;
  authUser: string;
  password: string;
  host: string;
  port: number;
  transport: 'UDPOnly' | 'TCPOnly' | 'TLS';
}

const POLY_TRANSPORT = { udp: 'UDPOnly', tcp: 'TCPOnly', tls: 'TLS' } as const;

function registration(p: PhoneConfig, n: number, r: Registration): void {
  p.set(`reg.${n}.address`, r.address)
    .set(`reg.${n}.auth.userId`, r.authUser)
    .set(`reg.${n}.auth.password`, r.password)
    .set(`reg.${n}.displayName`, r.label)
    .set(`reg.${n}.label`, r.label)
    .set(`reg.${n}.server.1.address`, r.host)
    .set(`reg.${n}.server.1.port`, r.port)
    .set(`reg.${n}.server.1.transport`, r.transport);
}

function clearRegistrations(p: PhoneConfig, from: number): void {
  for (let n = from; n <= MAX_REGISTRATIONS; n++) p.set(`reg.${n}.address`, '').set(`reg.${n}.auth.password`, '');
}

function provisioning(p: PhoneConfig, url: string, resyncSeconds: number): void {
  p.set('prov.polling.enabled', 1)
    .set('prov.polling.mode', 'rel')
    .set('prov.polling.period', resyncSeconds)
    .set('device.set', 1)
    .set('device.prov.serverType.set', 1)
    .set('device.prov.serverType', /^https:/i.test(url) ? 'HTTPS' : 'HTTP')
    .set('device.prov.serverName.set', 1)
    .set('device.prov.serverName', url);
}

export const poly: VendorTemplate = {
  contentType: 'application/xml; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    const p = new PhoneConfig();
    const target = sipTarget(cfg.sip);
    registration(p, 1, {
      label: cfg.label,
      address: cfg.sip.username,
      authUser: cfg.sip.username,
      password: cfg.sip.password,
      host: cfg.sip.server,
      port: target.port,
      transport: POLY_TRANSPORT[target.transport],
    });
    clearRegistrations(p, 2);
    provisioning(p, cfg.provisioningUrl, cfg.resyncSeconds);
    p.set('call.autoOffHook.1.enabled', 0)
      .set('dialplan.routing.emergency.1.value', cfg.emergencyNumbers.map(dialString).filter(Boolean).join(','))
      .set('dialplan.routing.emergency.1.server.1', 1);
    return p.toString();
  },

  full(cfg: FullConfig): string {
    const p = new PhoneConfig();
    cfg.lines.slice(0, MAX_REGISTRATIONS).forEach((line, i) => {
      const { host, port } = splitHostPort(line.server);
      registration(p, i + 1, {
        label: line.displayName || line.user,
        address: line.user,
        authUser: line.authName || line.user,
        password: line.password,
        host,
        port: port ?? 5060,
        transport: 'UDPOnly',
      });
    });
    clearRegistrations(p, Math.min(cfg.lines.length, MAX_REGISTRATIONS) + 1);
    provisioning(p, cfg.provisioningUrl, cfg.resyncSeconds);
    p.set('call.autoOffHook.1.enabled', 0);
    return p.toString();
  },
};

function masterConfig(configFile: string): string {
  // APP_FILE_PATH empty: papgate serves no firmware, the phone keeps its own.
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<APPLICATION APP_FILE_PATH="" CONFIG_FILES="${xml(configFile)}"/>\n`;
}

/** The master configuration `<mac>.cfg` of one phone. */
export function polyMaster(mac: string): string {
  return masterConfig(`${mac}-phone.cfg`);
}

/** `000000000000.cfg`, the master configuration a phone falls back to; the phone fills in its MAC. */
export function polyCommonMaster(): string {
  return masterConfig('[PHONE_MAC_ADDRESS]-phone.cfg');
}
