import { splitHostPort, xml } from './escape';
import { sipTarget } from './sip-target';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Cisco SPA phones and ATAs (SPA112, SPA191, SPA5xx) and their Linksys
 * ancestors (PAP2, SPA2102): the XML `<flat-profile>` of Cisco's Small
 * Business provisioning guide. Parameters a model lacks (SIP_Transport on an
 * ATA, a 4th line on a 2-port ATA) are ignored by it.
 */

/** Lines cleared beyond the configured ones (SPA5xx have up to 4). */
const MAX_LINES = 4;
/** Seconds of silence after lifting the handset before the warm line dials (keeps 112 diallable). */
const WARM_LINE_SECONDS = 4;
/** A permissive dial plan: any digits and `*` codes, sent after the inter-digit timer. */
const OPEN_DIAL_PLAN = '([x*].)';

class FlatProfile {
  private readonly lines: string[] = [];
  set(name: string, value: string | number): this {
    this.lines.push(`  <${name}>${xml(String(value))}</${name}>`);
    return this;
  }
  toString(): string {
    return ['<flat-profile>', ...this.lines, '</flat-profile>', ''].join('\n');
  }
}

/** `$` starts a macro in SPA rules (`$MA`); a literal one is written `$$`. */
function literalRule(url: string): string {
  return url.replace(/\$/g, '$$$$');
}

interface SpaLine {
  displayName: string;
  proxy: string;
  user: string;
  authName: string;
  password: string;
  transport: 'UDP' | 'TCP' | 'TLS';
  dialPlan: string;
}

function line(p: FlatProfile, n: number, l: SpaLine): void {
  const ownAuthId = l.authName !== '' && l.authName !== l.user;
  p.set(`Line_Enable_${n}_`, 'Yes')
    .set(`Proxy_${n}_`, l.proxy)
    .set(`SIP_Transport_${n}_`, l.transport)
    .set(`Register_${n}_`, 'Yes')
    .set(`Display_Name_${n}_`, l.displayName)
    .set(`User_ID_${n}_`, l.user)
    .set(`Password_${n}_`, l.password)
    .set(`Use_Auth_ID_${n}_`, ownAuthId ? 'Yes' : 'No')
    .set(`Auth_ID_${n}_`, ownAuthId ? l.authName : '')
    .set(`Dial_Plan_${n}_`, l.dialPlan);
}

function disableLines(p: FlatProfile, from: number): void {
  for (let n = from; n <= MAX_LINES; n++) p.set(`Line_Enable_${n}_`, 'No').set(`Password_${n}_`, '');
}

function provisioning(p: FlatProfile, baseUrl: string, mac: string, resyncSeconds: number): void {
  p.set('Provision_Enable', 'Yes')
    .set('Resync_On_Reset', 'Yes')
    .set('Resync_Periodic', resyncSeconds)
    .set('Profile_Rule', literalRule(`${baseUrl}${mac}.xml`));
}

export const ciscoSpa: VendorTemplate = {
  contentType: 'text/xml; charset=utf-8',

  minimal(cfg: MinimalConfig): string {
    const p = new FlatProfile();
    provisioning(p, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    const emergency = cfg.emergencyNumbers.map((n) => n.replace(/\D/g, '')).filter(Boolean);
    const hotline = cfg.hotline.replace(/[^0-9*#]/g, '');
    // Warm line: after WARM_LINE_SECONDS without a digit the hot-line is dialled; emergency numbers go at once.
    const dialPlan = `(P${WARM_LINE_SECONDS} <:${hotline}> | ${emergency.map((n) => `${n}S0`).join(' | ')}${emergency.length ? ' | ' : ''}[x*].)`;
    const target = sipTarget(cfg.sip);
    line(p, 1, {
      displayName: cfg.label,
      proxy: `${cfg.sip.server}:${target.port}`,
      user: cfg.sip.username,
      authName: cfg.sip.username,
      password: cfg.sip.password,
      transport: target.transport === 'tls' ? 'TLS' : target.transport === 'tcp' ? 'TCP' : 'UDP',
      dialPlan,
    });
    disableLines(p, 2);
    p.set('Station_Display_Name', cfg.label).set('Emergency_Number', emergency.join(','));
    return p.toString();
  },

  full(cfg: FullConfig): string {
    const p = new FlatProfile();
    provisioning(p, cfg.provisioningUrl, cfg.device.mac, cfg.resyncSeconds);
    cfg.lines.slice(0, MAX_LINES).forEach((l, i) => {
      const { host, port } = splitHostPort(l.server);
      line(p, i + 1, {
        displayName: l.displayName,
        proxy: port ? `${host}:${port}` : host,
        user: l.user,
        authName: l.authName,
        password: l.password,
        transport: 'UDP',
        dialPlan: OPEN_DIAL_PLAN,
      });
    });
    disableLines(p, Math.min(cfg.lines.length, MAX_LINES) + 1);
    p.set('Station_Display_Name', cfg.lines[0]?.displayName ?? '');
    return p.toString();
  },
};

/**
 * `spa<model>.cfg`, the file a factory-fresh SPA asks for: it only points the
 * device at its own `<mac>.xml` on the server it came from ($SCHEME, $SERV
 * and $PORT are SPA macros for the URL of this very request). Assumes papgate
 * is served at the root of its host.
 */
export function spaCommon(): string {
  return new FlatProfile().set('Provision_Enable', 'Yes').set('Resync_On_Reset', 'Yes').set('Profile_Rule', '$SCHEME://$SERV:$PORT/$MA.xml').toString();
}
