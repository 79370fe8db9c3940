import type { AllowEntry, AuditEvent, Locale, Site, Tenant, TemporaryTrust } from '../domain/types';

/**
 * The rows both SQL stores share (the same snake_case columns in both
 * schemas) and their mapping to domain values; device rows differ per
 * adapter and stay in each adapter's rows.ts.
 */

export interface TenantRow { id: number; name: string; locale: string; created_at: number }
export interface SiteRow { id: number; tenant_id: number; name: string; locale: string | null; emergency_numbers: string }
export interface AllowEntryRow { tenant_id: number; cidr: string; created_at: number }
export interface TrustRow { tenant_id: number; ip: string; until: number }
export interface AuditRow {
  id: number; at: number; tenant_id: number | null; mac: string | null; source_ip: string | null;
  actor: string; action: string; outcome: string;
}

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id, name: r.name, locale: r.locale as Locale, createdAt: r.created_at,
});

export const toSite = (r: SiteRow): Site => ({
  id: r.id, tenantId: r.tenant_id, name: r.name, locale: r.locale as Locale | null,
  emergencyNumbers: r.emergency_numbers === '' ? [] : r.emergency_numbers.split(','),
});

/** The emergency_numbers column of a site (numbers never contain a comma). */
export const emergencyNumbersColumn = (numbers: readonly string[] | undefined): string => (numbers ?? []).join(',');

export const toAllowEntry = (r: AllowEntryRow): AllowEntry => ({
  tenantId: r.tenant_id, cidr: r.cidr, createdAt: r.created_at,
});

export const toTrust = (r: TrustRow): TemporaryTrust => ({ tenantId: r.tenant_id, ip: r.ip, until: r.until });

export const toAudit = (r: AuditRow): AuditEvent => ({
  id: r.id, at: r.at, tenantId: r.tenant_id, mac: r.mac, sourceIp: r.source_ip,
  actor: r.actor, action: r.action, outcome: r.outcome,
});
