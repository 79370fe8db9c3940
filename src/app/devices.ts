import { effectiveState, newAuthRecord, resetAuth, suspend } from '../domain/auth';
import { invalid, notFound } from '../domain/errors';
import { parseMac } from '../domain/mac';
import { drawPap } from '../domain/pap';
import type { AuditEvent, Device, Line, Site, Tenant } from '../domain/types';
import { actorLabel, assertMayAccess, type Actor } from './actor';
import type { AppDeps } from './deps';
import { announcingStateChanges } from './webhook-events';
import { parseLines, parseModel, parseVendor } from './device-input';
import type { Tenants } from './tenants';
import { toDeviceView, type DeviceView } from './device-view';

export interface NewDeviceInput {
  tenant: unknown;
  mac: unknown;
  vendor: unknown;
  model: unknown;
  site?: unknown;
}

const ALNUM = 'abcdefghijkmnpqrstuvwxyz23456789';

/** Devices: create (returns the PAP), list, show, reset, suspend, delete, lines. Section 5 of docs/behaviour.md. */
export class Devices {
  constructor(
    private readonly d: AppDeps,
    private readonly tenants: Tenants,
  ) {}

  /** Validates one new device without writing (used by create and CSV import). */
  async build(actor: Actor, input: NewDeviceInput, sites?: Map<string, Site>): Promise<{ device: Device; tenant: Tenant }> {
    const tenant = await this.tenants.get(actor, input.tenant);
    const mac = parseMac(input.mac);
    const vendor = parseVendor(input.vendor);
    const model = parseModel(input.model);
    let siteId: number | null = null;
    if (input.site !== undefined && input.site !== null && input.site !== '') {
      if (typeof input.site !== 'string') throw invalid('site', "site must be the name of one of the tenant's sites");
      const name = input.site.trim().toLowerCase();
      const site = sites?.get(name) ?? (await this.d.store.getSite(tenant.id, name));
      if (!site) throw invalid('site', `tenant ${tenant.name} has no site named ${name} (add it first: papgate site add)`);
      siteId = site.id;
    }
    const device: Device = {
      mac,
      tenantId: tenant.id,
      siteId,
      vendor,
      model,
      createdAt: this.d.clock.now(),
      auth: newAuthRecord(drawPap(this.d.random)),
      secretHash: null,
      prevSecretHash: null,
      sipUsername: `pg${this.token(14)}`,
      sipPassword: this.token(24),
      lines: [],
      lastProvisionedIp: null,
      lastProvisionedAt: null,
    };
    return { device, tenant };
  }

  async create(actor: Actor, input: NewDeviceInput): Promise<DeviceView> {
    const { device, tenant } = await this.build(actor, input);
    await this.d.store.insertDevices([device], [this.event(actor, device, 'device-add', 'ok')]);
    return this.view(device, tenant);
  }

  async list(actor: Actor, tenantName: unknown, filter: { site?: unknown; state?: unknown } = {}): Promise<DeviceView[]> {
    const tenant = await this.tenants.get(actor, tenantName);
    const sites = new Map((await this.d.store.listSites(tenant.id)).map((s) => [s.id, s]));
    const devices = await this.d.store.listDevices(tenant.id);
    const now = this.d.clock.now();
    return devices
      .filter((dv) => filter.site === undefined || (dv.siteId !== null && sites.get(dv.siteId)?.name === String(filter.site).toLowerCase()))
      .filter((dv) => filter.state === undefined || effectiveState(dv.auth, now) === filter.state)
      .map((dv) => toDeviceView(dv, tenant, dv.siteId !== null ? (sites.get(dv.siteId) ?? null) : null, now));
  }

  async show(actor: Actor, mac: unknown): Promise<DeviceView> {
    const device = await this.get(actor, mac);
    return this.view(device);
  }

  /** Transition 5: new PAP, counters cleared, identity secret revoked. */
  async reset(actor: Actor, mac: unknown): Promise<DeviceView> {
    return this.mutate(actor, mac, 'device-reset', (dv) => ({
      ...dv,
      auth: resetAuth(dv.auth, drawPap(this.d.random)),
      secretHash: null,
      prevSecretHash: null,
    }));
  }

  /** No PAP needed for the configured time (30 min by default). */
  async suspend(actor: Actor, mac: unknown): Promise<DeviceView> {
    const now = this.d.clock.now();
    return this.mutate(actor, mac, 'device-suspend', (dv) => ({ ...dv, auth: suspend(dv.auth, now, this.d.policy) }));
  }

  async setLines(actor: Actor, mac: unknown, lines: unknown): Promise<DeviceView> {
    const parsed: Line[] = parseLines(lines);
    return this.mutate(actor, mac, 'device-lines', (dv) => ({ ...dv, lines: parsed }));
  }

  async delete(actor: Actor, mac: unknown): Promise<void> {
    const device = await this.get(actor, mac);
    await this.d.store.deleteDevice(device.mac, this.event(actor, device, 'device-delete', 'ok'));
  }

  /** The device, if it exists and the actor may see it (another tenant's device reads as missing). */
  async get(actor: Actor, mac: unknown): Promise<Device> {
    const canonical = parseMac(mac);
    const device = await this.d.store.getDevice(canonical);
    if (!device || (actor.kind === 'tenant' && actor.tenantId !== device.tenantId)) {
      throw notFound(`no device with MAC ${canonical}`);
    }
    return device;
  }

  async view(device: Device, tenant?: Tenant): Promise<DeviceView> {
    const t = tenant ?? (await this.d.store.getTenantById(device.tenantId));
    const site = device.siteId !== null ? await this.d.store.getSiteById(device.siteId) : null;
    return toDeviceView(device, t!, site, this.d.clock.now());
  }

  event(actor: Actor, device: Device, action: string, outcome: string): Omit<AuditEvent, 'id'> {
    return {
      at: this.d.clock.now(),
      tenantId: device.tenantId,
      mac: device.mac,
      sourceIp: actor.sourceIp ?? null,
      actor: actorLabel(actor),
      action,
      outcome,
    };
  }

  private async mutate(actor: Actor, mac: unknown, action: string, change: (d: Device) => Device): Promise<DeviceView> {
    const device = await this.get(actor, mac);
    assertMayAccess(actor, device.tenantId);
    const next = await this.d.store.mutateDevice(
      device.mac,
      announcingStateChanges(this.d.random, this.d.clock.now(), (current) => {
        if (!current) throw notFound(`no device with MAC ${device.mac}`);
        const updated = change(current);
        return { next: updated, result: updated, audit: [this.event(actor, current, action, 'ok')] };
      }),
    );
    return this.view(next);
  }

  private token(n: number): string {
    const b = this.d.random.bytes(n);
    let s = '';
    for (let i = 0; i < n; i++) s += ALNUM[b[i]! & 31]; // 32 symbols: no modulo bias
    return s;
  }
}
