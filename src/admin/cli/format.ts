import type { DeviceView } from '../../app/device-view';

/** Plain-text output of the CLI: aligned tables and key/value blocks, no colours. */

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: (string | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `key  value` lines, keys aligned; null values print as "-". */
export function keyValues(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined || v === '' ? '-' : String(v)}`).join('\n');
}

export function deviceDetails(d: DeviceView): string {
  const pairs: [string, string | number | null][] = [
    ['mac', d.mac],
    ['tenant', d.tenant],
    ['site', d.site],
    ['vendor', d.vendor],
    ['model', d.model],
    ['state', d.state],
    ['pap', d.pap],
    ['created', d.createdAt],
    ['failures', d.failures],
    ['lockouts', d.lockouts],
    ['locked until', d.lockedUntil],
    ['suspended until', d.suspendedUntil],
    ['sip username', d.sipUsername],
    ['sip password', d.sipPassword],
    ['last provisioned', d.lastProvisionedAt === null ? null : `${d.lastProvisionedAt} from ${d.lastProvisionedIp ?? '?'}`],
  ];
  if (d.lines.length === 0) pairs.push(['lines', null]);
  d.lines.forEach((l, i) => pairs.push([`line ${i + 1}`, `${l.user}@${l.server} (auth ${l.authName}${l.displayName ? `, "${l.displayName}"` : ''})`]));
  return keyValues(pairs);
}

export function deviceTable(devices: DeviceView[]): string {
  if (devices.length === 0) return '(no devices)';
  return table(
    ['MAC', 'VENDOR', 'MODEL', 'SITE', 'STATE', 'PAP', 'CREATED'],
    devices.map((d) => [d.mac, d.vendor, d.model, d.site, d.state + (d.suspendedUntil ? ' (suspended)' : ''), d.pap, d.createdAt]),
  );
}
