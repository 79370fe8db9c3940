import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FullConfig, MinimalConfig, ProvisioningSettings } from '../src/app/provisioning';
import { markSuccessful, newAuthRecord } from '../src/domain/auth';
import { hashSecret } from '../src/domain/identity-secret';
import type { Device } from '../src/domain/types';
import type { Store } from '../src/ports/store';
import { TEMPLATES } from '../src/provisioning/templates';

/** The benchmark's fleet: many Yealink phones in one SQLite store, and static copies of some of their files. */

export const BENCH_SETTINGS: ProvisioningSettings = {
  publicUrl: 'http://prov.bench',
  sip: { server: 'sip.papgate.bench', port: 5060, transport: 'udp' },
  emergencyNumbers: ['112', '110', '911', '999'],
  hotline: '*89',
  minimalResyncSeconds: 300,
  fullResyncSeconds: 14400,
};

/** A unicast, locally administered MAC per index. */
export const macOf = (i: number) => `02${i.toString(16).padStart(10, '0')}`;
/** A fixed identity secret per device (shaped like a real one), so full requests can use per-device URLs. */
export const secretOf = (i: number) => `bench-${i.toString(36).padStart(16, '0')}`;

function deviceOf(i: number, tenantId: number): Device {
  const mac = macOf(i);
  return {
    mac,
    tenantId,
    siteId: null,
    vendor: 'yealink',
    model: 'T46U',
    createdAt: 1_700_000_000_000,
    // Provisioned phones, as every phone holding a per-device URL is: a full request is then the routine resync, not a first success.
    auth: markSuccessful(newAuthRecord(String(i % 1_000_000).padStart(6, '0'))),
    secretHash: hashSecret(secretOf(i)),
    // ...and not the first resync either: the secret before is kept until this one is used (a resync's row keeps its size).
    prevSecretHash: hashSecret(`${secretOf(i)}-before`),
    sipUsername: `pg-${mac}`,
    sipPassword: `sip-pw-${mac}`,
    lines: [{ server: 'pbx.bench.example', user: `1${i}`, authName: `1${i}`, password: `line-pw-${i}`, displayName: `Desk ${i}` }],
    lastProvisionedIp: null,
    lastProvisionedAt: null,
  };
}

/** Inserts `count` devices in batches (one transaction each; on SQLite each batch takes the bulk-import path, a worker thread). */
export async function insertFleet(store: Store, tenantId: number, count: number, batch = 50_000): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const devices: Device[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) devices.push(deviceOf(i, tenantId));
    await store.insertDevices(devices, []);
  }
}

export const minimalPath = (i: number) => `/${macOf(i)}.cfg`;
export const fullPath = (i: number) => `/p/${secretOf(i)}/${macOf(i)}.cfg`;

/**
 * Writes what nginx serves: the minimal and full Yealink files of the first
 * `count` devices, rendered by the same templates, at the same paths.
 */
export function writeStaticFiles(root: string, count: number): void {
  const s = BENCH_SETTINGS;
  for (let i = 0; i < count; i++) {
    const device = deviceOf(i, 1);
    const minimal: MinimalConfig = {
      kind: 'minimal',
      device,
      state: 'needed',
      label: 'Authentication needed',
      sip: { ...s.sip, username: device.sipUsername, password: device.sipPassword },
      emergencyNumbers: s.emergencyNumbers,
      hotline: s.hotline,
      resyncSeconds: s.minimalResyncSeconds,
      provisioningUrl: `${s.publicUrl}/`,
    };
    const full: FullConfig = {
      kind: 'full',
      device,
      reason: 'secret',
      lines: device.lines,
      resyncSeconds: s.fullResyncSeconds,
      provisioningUrl: `${s.publicUrl}/p/${secretOf(i)}/`,
    };
    write(join(root, minimalPath(i)), TEMPLATES.yealink.minimal(minimal));
    write(join(root, fullPath(i)), TEMPLATES.yealink.full(full));
  }
}

function write(path: string, body: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, body, { mode: 0o644 });
}

/** A file of request paths, one per line, for the wrk script. */
export function writePaths(file: string, count: number, path: (i: number) => string): void {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(path(i));
  writeFileSync(file, `${lines.join('\n')}\n`);
}
