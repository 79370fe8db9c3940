import { formatMac } from '../../domain/mac';
import { splitHostPort, xml } from './escape';
import type { FullConfig, MinimalConfig, VendorTemplate } from './types';

/**
 * Gigaset IP DECT bases (N510 IP PRO, N720/N870 family): the
 * `<ProviderFrame>` profile of `SYMB_ITEM`s. Item IDs follow Gigaset's
 * provider-profile format as PBX vendors ship it; not verified on hardware:
 * - account 1 has no suffix and account n > 1 the suffix `_n`, except
 *   `ucB_SIP_ACCOUNT_IS_ACTIVE`, which is `_1` for account 1;
 * - the data-server URL is written as papgate's base URL;
 * - Gigaset exposes no transport, emergency-number or hot-line item we
 *   could confirm, so the minimal profile has none (a DECT handset cannot
 *   dial on off-hook anyway; every number reaches papgate's IVR).
 * The label is shown as the handset's internal name on its idle screen.
 */

const MAX_ACCOUNTS = 6;

class ProviderFrame {
  private readonly items: string[] = [];
  constructor(private readonly mac: string) {}
  /** A string item: Gigaset wants the value in double quotes inside the attribute. */
  text(id: string, value: string): this {
    this.items.push(`    <SYMB_ITEM ID="${id}" class="symb_item" value='"${xml(value.replace(/"/g, "'"))}"'/>`);
    return this;
  }
  /** A numeric item, written in hex as Gigaset's own profiles do. */
  num(id: string, value: number): this {
    this.items.push(`    <SYMB_ITEM ID="${id}" class="symb_item" value="0x${Math.trunc(value).toString(16)}"/>`);
    return this;
  }
  toString(): string {
    return [
      '<?xml version="1.0" encoding="ISO-8859-1"?>',
      '<ProviderFrame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="profile.xsd">',
      '  <Provider>',
      `    <MAC_ADDRESS value="${formatMac(this.mac, '', true)}"/>`,
      '    <PROFILE_NAME class="string" value="papgate"/>',
      ...this.items,
      '  </Provider>',
      '</ProviderFrame>',
      '',
    ].join('\n');
  }
}

interface Account {
  name: string;
  user: string;
  login: string;
  password: string;
  host: string;
  port: number;
}

function account(f: ProviderFrame, i: number, a: Account): void {
  const s = i === 0 ? '' : `_${i + 1}`;
  f.text(`BS_IP_Data1.aucS_SIP_ACCOUNT_NAME${s}`, a.name)
    .text(`BS_IP_Data1.aucS_SIP_DISPLAYNAME${s}`, a.name)
    .text(`BS_IP_Data3.aucS_SIP_LOGIN_ID${s}`, a.login)
    .text(`BS_IP_Data1.aucS_SIP_PASSWORD${s}`, a.password)
    .text(`BS_IP_Data1.aucS_SIP_USER_ID${s}`, a.user)
    .text(`BS_IP_Data1.aucS_SIP_DOMAIN${s}`, a.host)
    .text(`BS_IP_Data1.aucS_SIP_SERVER${s}`, a.host)
    .text(`BS_IP_Data1.aucS_SIP_REGISTRAR${s}`, a.host)
    .num(`BS_IP_Data1.uiI_SIP_SERVER_PORT${s}`, a.port)
    .num(`BS_IP_Data1.uiI_SIP_REGISTRAR_PORT${s}`, a.port)
    .num(`BS_IP_Data1.ucB_SIP_ACCOUNT_IS_ACTIVE_${i + 1}`, 1);
}

function deactivate(f: ProviderFrame, from: number): void {
  for (let i = from; i < MAX_ACCOUNTS; i++) {
    f.num(`BS_IP_Data1.ucB_SIP_ACCOUNT_IS_ACTIVE_${i + 1}`, 0).text(`BS_IP_Data1.aucS_SIP_PASSWORD${i === 0 ? '' : `_${i + 1}`}`, '');
  }
}

function common(f: ProviderFrame, url: string, idleName: string): void {
  f.text('BS_IP_Data1.aucS_DATA_SERVER[0]', url)
    .num('BS_IP_Data.ucB_AUTO_UPDATE_PROFILE', 1)
    .text('BS_AE_Subscriber.stMtDat[0].aucTlnName[0]', idleName)
    .num('BS_LM_AppCfg.bit.bHasIdleTextInternalName', 1);
}

export const gigaset: VendorTemplate = {
  contentType: 'application/xml; charset=iso-8859-1',

  minimal(cfg: MinimalConfig): string {
    const f = new ProviderFrame(cfg.device.mac);
    account(f, 0, {
      name: cfg.label,
      user: cfg.sip.username,
      login: cfg.sip.username,
      password: cfg.sip.password,
      host: cfg.sip.server,
      port: cfg.sip.port,
    });
    deactivate(f, 1);
    common(f, cfg.provisioningUrl, cfg.label);
    return f.toString();
  },

  full(cfg: FullConfig): string {
    const f = new ProviderFrame(cfg.device.mac);
    const lines = cfg.lines.slice(0, MAX_ACCOUNTS);
    lines.forEach((l, i) => {
      const { host, port } = splitHostPort(l.server);
      account(f, i, {
        name: l.displayName || l.user,
        user: l.user,
        login: l.authName || l.user,
        password: l.password,
        host,
        port: port ?? 5060,
      });
    });
    deactivate(f, lines.length);
    common(f, cfg.provisioningUrl, lines[0]?.displayName ?? '');
    return f.toString();
  },
};
