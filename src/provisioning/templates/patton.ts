import { formatMac } from '../../domain/mac';
import { minutes, singleLine, splitHostPort } from './escape';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Patton SmartNode ATAs (SN200/SN300/SN4xx): a SmartNode CLI configuration
 * that the device loads with `profile provisioning ... destination
 * configuration`. Command shapes follow Patton's SmartNode configurations as
 * provisioning servers ship them; not verified on hardware (in particular the
 * `every N minutes` timer). An ATA has no display, so the label is a comment
 * only, and no hot-line is configured: every number dialled on an FXS port
 * reaches papgate's SIP service (section 8 of docs/behaviour.md), emergency numbers included.
 */

interface Identity {
  user: string;
  authName: string;
  password: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

/** One CLI word: a single line, quoted when it holds blanks, never an unbalanced quote. */
function word(value: string | number): string {
  const v = singleLine(String(value)).replace(/"/g, "'");
  return v === '' || /\s/.test(v) ? `"${v}"` : v;
}

function render(kind: string, mac: string, url: string, resyncSeconds: number, ids: Identity[]): string {
  const out: string[] = [];
  const push = (indent: number, ...parts: (string | number)[]) => out.push(' '.repeat(indent) + parts.join(' '));
  push(0, `# papgate ${singleLine(kind)} for ${formatMac(mac)}`);
  push(0, 'cli version 3.20');
  push(0, '');
  push(0, 'profile provisioning PF_PROVISIONING_CONFIG');
  push(2, 'destination configuration');
  push(2, 'location 1', word(`${url}${mac}.cfg`));
  push(2, 'activation reload graceful');
  push(0, '');
  push(0, `timer TM_PROVISIONING now + 1 minute every ${minutes(resyncSeconds)} minutes "provisioning execute PF_PROVISIONING_CONFIG"`);
  push(0, '');
  push(0, 'actions');
  push(2, 'rule ACT_CHECK_SYNC');
  push(4, 'condition sip gateway:GW_SIP NOTIFY_CHECK_SYNC_RELOAD');
  push(4, 'action "provisioning execute PF_PROVISIONING_CONFIG"');
  push(0, '');
  push(0, 'authentication-service AS_LINES');
  for (const id of ids) push(2, 'username', word(id.authName), 'password', word(id.password));
  push(0, '');
  ids.forEach((id, i) => {
    push(0, `location-service LS_LINE${i}`);
    push(2, 'domain 1', word(id.host));
    push(2, 'identity', word(id.user));
    push(4, 'authentication outbound');
    push(6, 'authenticate 1 authentication-service AS_LINES username', word(id.authName));
    push(4, 'registration outbound');
    push(6, 'registrar', word(id.host), id.port);
    push(6, 'preferred-transport-protocol', id.transport);
    push(6, 'register auto');
    push(0, '');
  });
  push(0, 'context sip-gateway GW_SIP');
  push(2, 'interface IF_GW_SIP');
  push(4, 'bind interface eth0 context router port 5060');
  ids.forEach((_, i) => push(2, `bind location-service LS_LINE${i}`));
  push(2, 'notify check-sync accept');
  push(2, 'no shutdown');
  push(0, '');
  push(0, 'context cs switch');
  ids.forEach((id, i) => {
    push(2, `routing-table called-e164 RT_FROM_FXS${i}`);
    push(4, `route .T dest-interface IF_SIP${i}`);
    push(2, `interface sip IF_SIP${i}`);
    push(4, 'bind context sip-gateway GW_SIP');
    push(4, 'remote', word(id.host), id.port);
    push(2, `interface fxs IF_FXS${i}`);
    push(4, `route call dest-table RT_FROM_FXS${i}`);
    push(4, 'subscriber-number', word(id.user));
  });
  push(2, 'no shutdown');
  push(0, '');
  ids.forEach((_, i) => {
    push(0, `port fxs 0 ${i}`);
    push(2, 'encapsulation cc-fxs');
    push(2, `bind interface IF_FXS${i} switch`);
    push(2, 'no shutdown');
  });
  return `${out.join('\n')}\n`;
}

export const patton: VendorTemplate = {
  contentType: 'text/plain; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    return render(`minimal configuration (${cfg.label})`, cfg.device.mac, cfg.provisioningUrl, cfg.resyncSeconds, [
      {
        user: cfg.sip.username,
        authName: cfg.sip.username,
        password: cfg.sip.password,
        host: cfg.sip.server,
        port: cfg.sip.port,
        transport: cfg.sip.transport,
      },
    ]);
  },

  full(cfg: FullConfig): string {
    return render(
      'configuration',
      cfg.device.mac,
      cfg.provisioningUrl,
      cfg.resyncSeconds,
      cfg.lines.map((l) => {
        const { host, port } = splitHostPort(l.server);
        return { user: l.user, authName: l.authName || l.user, password: l.password, host, port: port ?? 5060, transport: 'udp' };
      }),
    );
  },
};
