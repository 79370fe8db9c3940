import { stringify } from 'csv-stringify/sync';
import { invalid, isPapgateError, PapgateError } from '../domain/errors';
import type { Device } from '../domain/types';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import type { Devices } from './devices';
import { toDeviceView, type DeviceView } from './device-view';
import type { Tenants } from './tenants';
import { parseInSlices } from './csv-slices';
import { TimeSlicer } from './time-slicer';

/** CSV export and batch import of sections 5 and 9 of docs/behaviour.md. */

export const EXPORT_COLUMNS = ['vendor', 'model', 'mac', 'created', 'site', 'state', 'pap'] as const;
const IMPORT_COLUMNS = ['mac', 'vendor', 'model', 'site'];
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
const MAX_IMPORT_ROWS = 50_000;

/** A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV injection). */
export function defuseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function devicesToCsv(views: DeviceView[]): string {
  const rows = views.map((v) => [v.vendor, v.model, v.mac, v.createdAt, v.site ?? '', v.state, v.pap ?? ''].map(defuseCell));
  return stringify([EXPORT_COLUMNS as unknown as string[], ...rows], { quoted_match: /[",\r\n]/, record_delimiter: '\r\n' });
}

export interface ImportError {
  line: number;
  field?: string;
  message: string;
}

/** Raised when any row is bad: nothing was written. */
export class ImportRejected extends PapgateError {
  constructor(readonly errors: ImportError[]) {
    super(
      'invalid',
      `the file has ${errors.length} bad row${errors.length === 1 ? '' : 's'}; nothing was imported:\n` +
        errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n'),
      'file',
    );
  }
}

export class DeviceCsv {
  constructor(
    private readonly d: AppDeps,
    private readonly tenants: Tenants,
    private readonly devices: Devices,
  ) {}

  async export(actor: Actor, tenantName: unknown): Promise<string> {
    return devicesToCsv(await this.devices.list(actor, tenantName));
  }

  /**
   * Checks every row, then inserts all devices in one transaction, or none.
   * Returns them with their PAPs. Parsing, checking (PAPs and SIP credentials
   * drawn) and the answer run in time slices that yield to the event loop
   * (time-slicer.ts): a 50,000-row file must not stall calls and phones.
   */
  async import(actor: Actor, tenantName: unknown, csv: string): Promise<DeviceView[]> {
    const tenant = await this.tenants.get(actor, tenantName);
    if (Buffer.byteLength(csv) > MAX_IMPORT_BYTES) throw invalid('file', 'the file is larger than 5 MiB');
    const slicer = new TimeSlicer();
    const records = await parseInSlices(csv, slicer);
    if (records.length < 2) throw invalid('file', `the file needs a header line (${IMPORT_COLUMNS.join(',')}) and at least one device`);
    if (records.length - 1 > MAX_IMPORT_ROWS) throw invalid('file', `at most ${MAX_IMPORT_ROWS} devices per file`);
    const header = records[0]!.map((h) => h.toLowerCase());
    const col = (name: string) => header.indexOf(name);
    for (const required of ['mac', 'vendor', 'model']) {
      if (col(required) < 0)
        throw invalid('file', `line 1: the header must name the columns ${IMPORT_COLUMNS.join(', ')} (site is optional); "${required}" is missing`);
    }
    const siteList = await this.d.store.listSites(tenant.id);
    const sites = new Map(siteList.map((s) => [s.name, s]));
    const errors: ImportError[] = [];
    const built: Device[] = [];
    const seen = new Map<string, number>();
    for (let i = 1; i < records.length; i++) {
      await slicer.pause();
      const r = records[i]!;
      const line = i + 1;
      try {
        const { device } = await this.devices.build(
          actor,
          {
            tenant: tenant.name,
            mac: r[col('mac')],
            vendor: r[col('vendor')],
            model: r[col('model')],
            site: col('site') >= 0 ? r[col('site')] : undefined,
          },
          sites,
        );
        const dup = seen.get(device.mac);
        if (dup !== undefined) throw invalid('mac', `MAC ${device.mac} is also on line ${dup}`);
        if (await this.d.store.getDevice(device.mac)) throw invalid('mac', `a device with MAC ${device.mac} already exists`);
        seen.set(device.mac, line);
        built.push(device);
      } catch (e) {
        if (!isPapgateError(e) || e.code === 'unavailable') throw e;
        errors.push({ line, field: e.field, message: e.message });
      }
    }
    if (errors.length > 0) throw new ImportRejected(errors);
    const audit = [];
    for (const dv of built) {
      await slicer.pause();
      audit.push(this.devices.event(actor, dv, 'device-import', 'ok'));
    }
    await this.d.store.insertDevices(built, audit);
    const sitesById = new Map(siteList.map((s) => [s.id, s]));
    const now = this.d.clock.now();
    const views: DeviceView[] = [];
    for (const dv of built) {
      await slicer.pause();
      views.push(toDeviceView(dv, tenant, dv.siteId !== null ? (sitesById.get(dv.siteId) ?? null) : null, now));
    }
    return views;
  }
}
