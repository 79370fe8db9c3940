import { formatMac } from '../../domain/mac';
import { dialString, minutes, quotedValue, splitHostPort } from './escape';
import { sipTarget, type SipTransportName } from './sip-target';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Panasonic KX-UT / KX-TGP / KX-HDV `Config<MAC>.cfg`: the fixed first line,
 * then `KEY="value"` lines with CRLF endings. Names from Panasonic's
 * provisioning format (SIP_RGSTR_ADDR_1, CFG_STANDARD_FILE_PATH, ...); the
 * hot-line (HOTLINE_*) and emergency (EMERGENCY_CALL*) names are from the
 * KX-UT administrator guide as we remember it, not verified on a phone.
 */

const HEADER = '# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!';
const MAX_LINES = 6;
const MAX_EMERGENCY = 5;
const HOTLINE_DELAY_SECONDS = 4;

class StandardFile {
  private readonly lines: string[] = [HEADER];
  set(key: string, value: string | number): this {
    this.lines.push(`${key}="${quotedValue(value)}"`);
    return this;
  }
  toString(): string {
    return `${this.lines.join('\r\n')}\r\n`;
  }
}

interface PanasonicLine {
  displayName: string;
  user: string;
  authName: string;
  password: string;
  host: string;
  port: number;
  transport: SipTransportName;
}

function line(f: StandardFile, n: number, l: PanasonicLine): void {
  f.set(`LINE_ENABLE_${n}`, 'Enabled')
    .set(`DISPLAY_NAME_${n}`, l.displayName)
    .set(`PHONE_NUMBER_${n}`, l.user)
    .set(`SIP_AUTHID_${n}`, l.authName)
    .set(`SIP_PASS_${n}`, l.password)
    .set(`SIP_RGSTR_ADDR_${n}`, l.host)
    .set(`SIP_RGSTR_PORT_${n}`, l.port)
    .set(`SIP_PRXY_ADDR_${n}`, l.host)
    .set(`SIP_PRXY_PORT_${n}`, l.port)
    .set(`SIP_SVCDOMAIN_${n}`, l.host)
    .set(`SIP_TRANSPORT_${n}`, { udp: 0, tcp: 1, tls: 2 }[l.transport]);
}

function disableLines(f: StandardFile, from: number): void {
  for (let n = from; n <= MAX_LINES; n++) f.set(`LINE_ENABLE_${n}`, 'Disabled').set(`SIP_PASS_${n}`, '');
}

function provisioning(f: StandardFile, baseUrl: string, mac: string, resyncSeconds: number): void {
  f.set('CFG_STANDARD_FILE_PATH', `${baseUrl}Config${formatMac(mac, '', true)}.cfg`)
    .set('CFG_RESYNC_FROM_SIP', 'check-sync')
    .set('CFG_CYCLIC', 'Y')
    .set('CFG_CYCLIC_INTVL', minutes(resyncSeconds));
}

export const panasonic: VendorTemplate = {
  contentType: 'text/plain; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    const f = new StandardFile();
    provisioning(f, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    line(f, 1, {
      displayName: cfg.label,
      user: cfg.sip.username,
      authName: cfg.sip.username,
      password: cfg.sip.password,
      host: cfg.sip.server,
      ...sipTarget(cfg.sip),
    });
    disableLines(f, 2);
    f.set('HOTLINE_ENABLE', 'Y').set('HOTLINE_NUMBER', dialString(cfg.hotline)).set('HOTLINE_DELAY', HOTLINE_DELAY_SECONDS);
    cfg.emergencyNumbers.slice(0, MAX_EMERGENCY).forEach((n, i) => f.set(`EMERGENCY_CALL${i + 1}`, dialString(n)));
    return f.toString();
  },

  full(cfg: FullConfig): string {
    const f = new StandardFile();
    provisioning(f, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    cfg.lines.slice(0, MAX_LINES).forEach((l, i) => {
      const { host, port } = splitHostPort(l.server);
      line(f, i + 1, {
        displayName: l.displayName || l.user,
        user: l.user,
        authName: l.authName || l.user,
        password: l.password,
        host,
        port: port ?? 5060,
        transport: 'udp',
      });
    });
    disableLines(f, Math.min(cfg.lines.length, MAX_LINES) + 1);
    f.set('HOTLINE_ENABLE', 'N').set('HOTLINE_NUMBER', '');
    return f.toString();
  },
};
