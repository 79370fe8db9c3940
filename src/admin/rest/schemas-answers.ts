import { z } from 'zod';
import type { DeviceView } from '../../app/device-view';
import { PAP_DIGITS } from '../../domain/pap';
import { LocaleSchema, SiteEmergencyNumbersSchema, StateSchema, VendorSchema } from './schemas';
import type { AllowListJson, AuditEventJson, SiteJson, TenantJson } from './views';

/**
 * The shapes of the admin API's answers, for the OpenAPI document. Answers
 * are built by views.ts and device-view.ts; the type checks at the end of
 * this file and a test that reads real answers through these schemas keep
 * the two in step. Strict objects, so an undocumented field fails that test.
 */

const time = z.string().meta({ format: 'date-time' });
const nullableTime = time.nullable();

export const ErrorSchema = z
  .strictObject({
    error: z.enum(['invalid', 'not_found', 'conflict', 'forbidden', 'unauthorized', 'unavailable', 'internal']),
    message: z.string(),
    field: z.string().optional().describe('the input field the message is about'),
    errors: z
      .array(z.strictObject({ line: z.number().int(), field: z.string().nullable(), message: z.string() }).meta({ id: 'ImportError' }))
      .optional()
      .describe('per-line problems of a rejected CSV import'),
  })
  .meta({ id: 'Error' });

export const TenantSchema = z.strictObject({ name: z.string(), locale: LocaleSchema, createdAt: time }).meta({ id: 'Tenant' });
export const SiteSchema = z
  .strictObject({ name: z.string(), locale: LocaleSchema.nullable(), emergencyNumbers: SiteEmergencyNumbersSchema })
  .meta({ id: 'Site' });

export const DeviceSchema = z
  .strictObject({
    mac: z.string().regex(/^[0-9a-f]{12}$/),
    tenant: z.string(),
    site: z.string().nullable(),
    vendor: VendorSchema,
    model: z.string(),
    state: StateSchema,
    pap: z
      .string()
      .regex(new RegExp(`^[0-9]{${PAP_DIGITS}}$`))
      .nullable()
      .describe('only while the device is not successful'),
    createdAt: time,
    sipUsername: z.string(),
    sipPassword: z.string(),
    failures: z.number().int(),
    lockouts: z.number().int(),
    lockedUntil: nullableTime,
    suspendedUntil: nullableTime,
    lastProvisionedIp: z.string().nullable(),
    lastProvisionedAt: nullableTime,
    lines: z
      .array(z.strictObject({ server: z.string(), user: z.string(), authName: z.string(), displayName: z.string() }))
      .describe('line passwords are never returned'),
  })
  .meta({ id: 'Device', description: 'a device as admins see it; never its identity secret' });

const LocalesSchema = z.array(LocaleSchema).describe('the prompt languages papgate ships');
export const WhoamiSchema = z.union([
  z.strictObject({ kind: z.literal('platform'), locales: LocalesSchema }),
  z.strictObject({ kind: z.literal('tenant'), tenant: z.string(), locales: LocalesSchema }),
]);
export const TenantCreatedSchema = z.strictObject({ tenant: TenantSchema, token: z.string().describe('shown only now') });
export const TokenSchema = z.strictObject({ token: z.string().describe('the new token, shown only now; the old one stops working') });

export const AllowEntrySchema = z.strictObject({ cidr: z.string(), createdAt: time }).meta({ id: 'AllowEntry' });
export const AllowListSchema = z
  .strictObject({
    permanent: z.array(AllowEntrySchema),
    temporary: z.array(z.strictObject({ ip: z.string(), until: time })).describe('sources trusted for a while after a PAP success'),
  })
  .meta({ id: 'AllowList' });
export const AllowAddedSchema = z.strictObject({ entry: AllowEntrySchema, warning: z.string().optional().describe('for very wide ranges') });

export const AuditEventSchema = z
  .strictObject({
    at: time,
    tenant: z.string().nullable(),
    mac: z.string().nullable(),
    sourceIp: z.string().nullable(),
    actor: z.string(),
    action: z.string(),
    outcome: z.string(),
  })
  .meta({ id: 'AuditEvent' });

export const ImportedSchema = z.strictObject({ imported: z.number().int(), devices: z.array(DeviceSchema) });

/** Compile-time checks: every view value is a valid answer of its schema. */
type Fits<Schema, View extends Schema> = View;
export type AnswerShapesMatchViews = [
  Fits<z.input<typeof DeviceSchema>, DeviceView>,
  Fits<z.input<typeof TenantSchema>, TenantJson>,
  Fits<z.input<typeof SiteSchema>, SiteJson>,
  Fits<z.input<typeof AllowListSchema>, AllowListJson>,
  Fits<z.input<typeof AuditEventSchema>, AuditEventJson>,
];
