import { formatMac } from '../../domain/mac';
import { dialString, xml } from './escape';
import { sipTarget } from './sip-target';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * snom XML settings (`<settings><phone-settings>`), served for both
 * `snom<model>-<MAC>.htm` and `<MAC>.xml`: snom firmware recognises XML by
 * its content, not by the file name. Setting names from snom's settings
 * reference (user_host, user_pass, setting_server, ...). snom has no
 * off-hook auto-dial setting we could verify, so the minimal configuration
 * has no hot-line: every number a minimal phone dials reaches papgate's IVR
 * anyway (section 8 of docs/behaviour.md).
 */

/** Identities on the largest snom desk phones; the rest are switched off. */
const MAX_IDENTITIES = 12;

class SettingsXml {
  private readonly lines: string[] = [];
  set(name: string, value: string | number, idx?: number): this {
    const index = idx === undefined ? '' : ` idx="${idx}"`;
    this.lines.push(`    <${name}${index} perm="">${xml(String(value))}</${name}>`);
    return this;
  }
  toString(): string {
    return ['<?xml version="1.0" encoding="utf-8"?>', '<settings>', '  <phone-settings e="2">', ...this.lines, '  </phone-settings>', '</settings>', ''].join(
      '\n',
    );
  }
}

interface Identity {
  realName: string;
  user: string;
  authName: string;
  password: string;
  host: string;
  /** `host:port;transport=tcp` (or `tls`) when the registrar needs TCP or TLS, else empty. */
  outbound: string;
  idleText: string;
}

function identity(s: SettingsXml, idx: number, i: Identity): void {
  s.set('user_active', 'on', idx)
    .set('user_realname', i.realName, idx)
    .set('user_name', i.user, idx)
    .set('user_pname', i.authName, idx)
    .set('user_pass', i.password, idx)
    .set('user_host', i.host, idx)
    .set('user_outbound', i.outbound, idx)
    .set('user_idle_text', i.idleText, idx);
}

function switchOff(s: SettingsXml, from: number): void {
  for (let idx = from; idx <= MAX_IDENTITIES; idx++) s.set('user_active', 'off', idx).set('user_pass', '', idx);
}

function provisioning(s: SettingsXml, baseUrl: string, mac: string, resyncSeconds: number): void {
  s.set('setting_server', `${baseUrl}${formatMac(mac, '', true)}.xml`)
    .set('settings_refresh_timer', resyncSeconds)
    .set('update_policy', 'settings_only');
}

export const snom: VendorTemplate = {
  contentType: 'application/xml; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    const s = new SettingsXml();
    const target = sipTarget(cfg.sip);
    const hostPort = `${cfg.sip.server}:${target.port}`;
    identity(s, 1, {
      realName: cfg.label,
      user: cfg.sip.username,
      authName: cfg.sip.username,
      password: cfg.sip.password,
      host: hostPort,
      outbound: target.transport === 'udp' ? '' : `${hostPort};transport=${target.transport}`,
      idleText: cfg.label,
    });
    switchOff(s, 2);
    provisioning(s, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    // Space-separated, as snom's own default for keyboard_lock_emergency.
    const emergency = cfg.emergencyNumbers.map(dialString).filter(Boolean).join(' ');
    s.set('emergency_numbers', emergency).set('keyboard_lock_emergency', emergency);
    return s.toString();
  },

  full(cfg: FullConfig): string {
    const s = new SettingsXml();
    cfg.lines.slice(0, MAX_IDENTITIES).forEach((line, i) => {
      const name = line.displayName || line.user;
      identity(s, i + 1, {
        realName: name,
        user: line.user,
        authName: line.authName || line.user,
        password: line.password,
        host: line.server,
        outbound: '',
        idleText: name,
      });
    });
    switchOff(s, Math.min(cfg.lines.length, MAX_IDENTITIES) + 1);
    provisioning(s, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    return s.toString();
  },
};
