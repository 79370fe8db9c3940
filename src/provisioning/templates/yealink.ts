import { formatMac } from '../../domain/mac';
import { cfgValue, dialString, minutes, splitHostPort } from './escape';
import { sipTarget } from './sip-target';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Yealink `<mac>.cfg` (T19/T2x/T4x/T5x, CP, W-series DECT bases): the
 * `#!version:1.0.0.1` header, then `key = value` lines. Parameter names are
 * those of Yealink's auto-provisioning guide (V83+).
 */

/** Highest account number on any Yealink model (T5x); the rest are switched off. */
const MAX_ACCOUNTS = 16;
/** Seconds before the hot-line dials: long enough to start dialling an emergency number by hand. */
const HOTLINE_DELAY_SECONDS = 4;

interface Account {
  label: string;
  displayName: string;
  user: string;
  authName: string;
  password: string;
  host: string;
  port: number;
  /** 0 = UDP, 1 = TCP, 2 = TLS (Yealink's transport_type). */
  transport: 0 | 1 | 2;
}

const YEALINK_TRANSPORT = { udp: 0, tcp: 1, tls: 2 } as const;

const line = (key: string, value: string | number) => `${key} = ${cfgValue(value)}`;

class CfgFile {
  private readonly lines: string[] = ['#!version:1.0.0.1'];
  comment(text: string): this {
    this.lines.push(`## ${cfgValue(text)}`);
    return this;
  }
  set(key: string, value: string | number): this {
    this.lines.push(line(key, value));
    return this;
  }
  /** Lines made by `line`, already joined. */
  block(lines: string): this {
    if (lines !== '') this.lines.push(lines);
    return this;
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function account(f: CfgFile, n: number, a: Account): void {
  f.set(`account.${n}.enable`, 1)
    .set(`account.${n}.label`, a.label)
    .set(`account.${n}.display_name`, a.displayName)
    .set(`account.${n}.user_name`, a.user)
    .set(`account.${n}.auth_name`, a.authName)
    .set(`account.${n}.password`, a.password)
    .set(`account.${n}.sip_server.1.address`, a.host)
    .set(`account.${n}.sip_server.1.port`, a.port)
    .set(`account.${n}.sip_server.1.transport_type`, a.transport);
}

/** The lines switching accounts off never change: built once per first account (most of a minimal file). */
const disabled = new Map<number, string>();

function disableAccounts(f: CfgFile, from: number): void {
  let lines = disabled.get(from);
  if (lines === undefined) {
    const out: string[] = [];
    for (let n = from; n <= MAX_ACCOUNTS; n++) out.push(line(`account.${n}.enable`, 0), line(`account.${n}.password`, ''));
    lines = out.join('\n');
    disabled.set(from, lines);
  }
  f.block(lines);
}

function provisioning(f: CfgFile, url: string, resyncSeconds: number): void {
  // The phone appends `<mac>.cfg` to this directory URL.
  f.set('static.auto_provision.server.url', url)
    .set('static.auto_provision.repeat.enable', 1)
    .set('static.auto_provision.repeat.minutes', minutes(resyncSeconds));
}

export const yealink: VendorTemplate = {
  contentType: 'text/plain; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    const f = new CfgFile().comment(`papgate minimal configuration for ${formatMac(cfg.device.mac)}`);
    const target = sipTarget(cfg.sip);
    account(f, 1, {
      label: cfg.label,
      displayName: cfg.label,
      user: cfg.sip.username,
      authName: cfg.sip.username,
      password: cfg.sip.password,
      host: cfg.sip.server,
      port: target.port,
      transport: YEALINK_TRANSPORT[target.transport],
    });
    disableAccounts(f, 2);
    provisioning(f, cfg.provisioningUrl, cfg.resyncSeconds);
    f.set('features.hotline_number', dialString(cfg.hotline))
      .set('features.hotline_delay', HOTLINE_DELAY_SECONDS)
      .set('phone_setting.emergency.number', cfg.emergencyNumbers.map(dialString).filter(Boolean).join(','));
    return f.toString();
  },

  full(cfg: FullConfig): string {
    const f = new CfgFile().comment(`papgate configuration for ${formatMac(cfg.device.mac)}`);
    cfg.lines.slice(0, MAX_ACCOUNTS).forEach((line, i) => {
      const { host, port } = splitHostPort(line.server);
      const name = line.displayName || line.user;
      // Lines carry no transport: UDP, SIP's default, rather than whatever the minimal configuration left.
      account(f, i + 1, {
        label: name,
        displayName: name,
        user: line.user,
        authName: line.authName || line.user,
        password: line.password,
        host,
        port: port ?? 5060,
        transport: 0,
      });
    });
    disableAccounts(f, Math.min(cfg.lines.length, MAX_ACCOUNTS) + 1);
    provisioning(f, cfg.provisioningUrl, cfg.resyncSeconds);
    // Undo the minimal configuration's hot-line.
    f.set('features.hotline_number', '').set('features.hotline_delay', 0);
    return f.toString();
  },
};

/** The model-wide `y0000000000XX.cfg`: deliberately empty, everything lives in `<mac>.cfg`. */
export function yealinkCommon(): string {
  return '#!version:1.0.0.1\n## papgate: device settings are in <mac>.cfg\n';
}
