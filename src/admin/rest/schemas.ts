import { z } from 'zod';
import { EMERGENCY_NUMBER, MAX_SITE_EMERGENCY_NUMBERS } from '../../domain/dialplan';
import { MAC_HELP, MAC_PATTERN } from '../../domain/mac';
import {
  AUDIT_LIMIT,
  MAX_LINE_FIELD_LENGTH,
  MAX_LINES,
  MODEL_PATTERN,
  MODEL_RULE,
  NAME_PATTERN,
  NAME_RULE,
  NO_CONTROL_CHARS,
  QUOTABLE_VALUE,
} from '../../domain/input-rules';
import { LOCALES, VENDORS, type AuthState } from '../../domain/types';

/**
 * The HTTP contract of the admin API's input: path parameters, query strings
 * and bodies. Validated before a handler runs (zod-validation.ts) and turned
 * into the OpenAPI document (openapi.ts). The use cases still apply the
 * domain's rules (a site must exist, a MAC must not be multicast); these
 * schemas reuse the domain's patterns so the two cannot disagree.
 *
 * Every message starts with "must": the error mapping puts the field name in front.
 */

export const STATES = ['needed', 'failed', 'blocked', 'successful'] as const satisfies readonly AuthState[];

const oneOf = (values: readonly string[]) => `must be one of: ${values.join(', ')}`;

export const LocaleSchema = z.enum(LOCALES, { error: oneOf(LOCALES) }).meta({ id: 'Locale', description: 'language of the voice prompts' });
export const VendorSchema = z.enum(VENDORS, { error: oneOf(VENDORS) }).meta({ id: 'Vendor' });

/** `yealink` → `[yY][eE]...`: JSON Schema patterns carry no flags, and the use case accepts any case. */
const anyCase = (word: string) => [...word].map((ch) => (/[a-z]/.test(ch) ? `[${ch}${ch.toUpperCase()}]` : ch)).join('');
const vendorRule = `${oneOf(VENDORS)} (any case)`;
/** A vendor as typed: any case (the use case lowers it). */
export const VendorInputSchema = z.string({ error: vendorRule }).regex(new RegExp(`^(?:${VENDORS.map(anyCase).join('|')})$`), vendorRule);
export const StateSchema = z.enum(STATES, { error: oneOf(STATES) }).meta({ id: 'State', description: 'effective authentication state' });

const nameRule = `must be ${NAME_RULE}`;
/** A tenant or site name (compared in lower case). */
export const NameSchema = z.string({ error: nameRule }).regex(NAME_PATTERN, nameRule);

const macRule = `must be a MAC address: ${MAC_HELP}`;
/** A MAC in any accepted spelling; the use case turns it into 12 lower-case hex digits. */
export const MacInputSchema = z
  .string({ error: macRule })
  .regex(MAC_PATTERN, macRule)
  .describe('MAC in any accepted spelling (1a2b3c4d5e6f, 1a:2b:3c:4d:5e:6f, 1A-2B-3C-4D-5E-6F, 1a2b.3c4d.5e6f), URL-encoded in paths');

const modelRule = `must be ${MODEL_RULE}`;
export const ModelSchema = z.string({ error: modelRule }).regex(MODEL_PATTERN, modelRule);

export const TenantParams = z.strictObject({ tenant: NameSchema.describe('tenant name') });
export const MacParams = z.strictObject({ mac: MacInputSchema });

// --- bodies (strict: an unknown field is an error, not silently dropped) ---

export const TenantCreateBody = z.strictObject({ name: NameSchema, locale: LocaleSchema.optional().describe('default: en') }).meta({ id: 'TenantCreate' });
export const TenantPatchBody = z.strictObject({ locale: LocaleSchema }).meta({ id: 'TenantPatch' });
const emergencyRule = `must be a list of at most ${MAX_SITE_EMERGENCY_NUMBERS} emergency numbers`;
const emergencyItemRule = 'must be an emergency number (1 to 15 of 0-9 * # +)';
export const SiteEmergencyNumbersSchema = z
  .array(
    z
      .string({ error: emergencyItemRule })
      // the number in the message: a portal user sees which entry of the list is wrong
      .regex(EMERGENCY_NUMBER, { error: (iss) => `${emergencyItemRule}, not "${String(iss.input).slice(0, 20)}"` }),
    { error: emergencyRule },
  )
  .max(MAX_SITE_EMERGENCY_NUMBERS, emergencyRule)
  .meta({ id: 'SiteEmergencyNumbers', description: "emergency numbers of the site's devices on top of the global ones (which always apply)" });
export const SiteParams = z.strictObject({ tenant: NameSchema.describe('tenant name'), site: NameSchema.describe('site name') });
export const SiteCreateBody = z
  .strictObject({
    name: NameSchema,
    locale: LocaleSchema.optional().describe("default: the tenant's"),
    emergencyNumbers: SiteEmergencyNumbersSchema.optional(),
  })
  .meta({ id: 'SiteCreate' });
export const SitePatchBody = z
  .strictObject({
    locale: LocaleSchema.nullable().optional().describe("null: the tenant's"),
    emergencyNumbers: SiteEmergencyNumbersSchema.optional(),
  })
  .meta({ id: 'SitePatch' });
export const DeviceCreateBody = z
  .strictObject({
    mac: MacInputSchema,
    vendor: VendorInputSchema,
    model: ModelSchema,
    site: NameSchema.optional().describe('an existing site of the tenant'),
  })
  .meta({ id: 'DeviceCreate' });

const textRule = `must be text of at most ${MAX_LINE_FIELD_LENGTH} characters without control characters`;
const quotedRule = 'must not be empty, contain a double quote, or start or end with a blank';
/** A value of a line; `quoted` ones are written between quotes into vendor configuration files. */
function lineValue(quoted: boolean) {
  const text = z.string({ error: textRule }).max(MAX_LINE_FIELD_LENGTH, textRule).regex(NO_CONTROL_CHARS, textRule);
  return quoted ? text.min(1, quotedRule).regex(QUOTABLE_VALUE, quotedRule) : text;
}

export const LineInputSchema = z
  .strictObject({
    server: lineValue(true).describe('SIP registrar host[:port]'),
    user: lineValue(true),
    authName: lineValue(true).optional().describe('default: user'),
    password: lineValue(true),
    displayName: lineValue(false).optional(),
  })
  .meta({ id: 'LineInput' });

const linesRule = `must be a list of at most ${MAX_LINES} lines`;
export const LinesBody = z
  .strictObject({
    lines: z.array(LineInputSchema, { error: linesRule }).max(MAX_LINES, linesRule),
  })
  .meta({ id: 'LinesPut' });

export const AllowAddBody = z
  .strictObject({
    cidr: z
      .string({ error: 'must be an IPv4 or IPv6 address or CIDR range' })
      .max(64, 'must be at most 64 characters')
      .meta({ examples: ['203.0.113.0/24'] }),
  })
  .meta({ id: 'AllowAdd' });

// --- query strings (unknown parameters are ignored, as browsers and proxies add some) ---

export const DeviceListQuery = z.object({
  site: NameSchema.optional().describe('only this site'),
  state: StateSchema.optional().describe('only this (effective) state'),
});

const limitRule = `must be a whole number from ${AUDIT_LIMIT.min} to ${AUDIT_LIMIT.max}`;
export const AuditQuery = z.object({
  limit: z.coerce
    .number({ error: limitRule })
    .int(limitRule)
    .min(AUDIT_LIMIT.min, limitRule)
    .max(AUDIT_LIMIT.max, limitRule)
    .optional()
    .describe(`events to return, default ${AUDIT_LIMIT.default}`),
});

export const AllowRemoveQuery = z.object({
  cidr: z.string({ error: 'must be the address or CIDR range to remove' }).describe('the entry to remove'),
});
