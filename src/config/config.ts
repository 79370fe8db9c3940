import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEFAULT_EMERGENCY_LOOKUP_MS, DEFAULT_EMERGENCY_NUMBERS, EMERGENCY_NUMBER } from '../domain/dialplan';
import { parseAllowEntry } from '../domain/trust';
import { DEFAULT_NOTIFY_TIMEOUT_MS } from '../ports/signalling';

/**
 * The only place that reads the environment. Every setting has a default that
 * runs out of the box on one machine; a bad value stops start-up with a
 * message naming the variable.
 */

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const port = int(0, 65535);
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

/** Environment variable → [setting key, schema, default]. */
export const SETTINGS = {
  PAPGATE_DB: [
    'db',
    z.string().min(1).refine(isDbLocation, 'must be a SQLite file path or a URL such as postgres://user:password@host:5432/papgate'),
    './data/papgate.db',
  ],
  PAPGATE_DB_MIGRATE: ['dbMigrate', z.enum(['check', 'auto']), 'check'],
  PAPGATE_DB_POOL_SIZE: ['dbPoolSize', int(1, 1000), '10'],
  PAPGATE_DB_TIMEOUT_SECONDS: ['dbTimeoutSeconds', z.coerce.number().min(0.1).max(600), '5'],
  PAPGATE_DB_DEVICES_IN_MEMORY: ['dbDevicesInMemory', z.enum(['auto', 'on', 'off']), 'auto'],
  PAPGATE_LOG_LEVEL: ['logLevel', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'],
  PAPGATE_PROVISIONING_ADDRESS: ['provisioningAddress', z.string().min(1), '0.0.0.0'],
  PAPGATE_PROVISIONING_PORT: ['provisioningPort', port, '8080'],
  PAPGATE_WORKERS: ['workers', int(1, 256), String(availableParallelism())],
  PAPGATE_ADMIN_ADDRESS: ['adminAddress', z.string().min(1), '127.0.0.1'],
  PAPGATE_ADMIN_PORT: ['adminPort', port, '8081'],
  PAPGATE_ADMIN_TOKEN: ['adminToken', z.string().min(16, 'must be at least 16 characters').optional(), undefined],
  PAPGATE_PUBLIC_URL: ['publicUrl', z.url().transform((u) => u.replace(/\/+$/, '')), 'http://127.0.0.1:8080'],
  // PEM files; both set: the port speaks HTTPS (docs/tls.md). Re-read when they change.
  PAPGATE_TLS_CERT: ['tlsCert', z.string().min(1).optional(), undefined],
  PAPGATE_TLS_KEY: ['tlsKey', z.string().min(1).optional(), undefined],
  PAPGATE_ADMIN_TLS_CERT: ['adminTlsCert', z.string().min(1).optional(), undefined],
  PAPGATE_ADMIN_TLS_KEY: ['adminTlsKey', z.string().min(1).optional(), undefined],
  // PEM CA bundle: the HTTPS provisioning port asks phones for a device certificate (mutual TLS) and believes it for the MAC it names.
  PAPGATE_DEVICE_CA: ['deviceCa', z.string().min(1).optional(), undefined],
  PAPGATE_TLS_RELOAD_SECONDS: ['tlsReloadSeconds', z.coerce.number().min(0.1).max(86400), '60'],
  PAPGATE_TLS_HANDSHAKE_SECONDS: ['tlsHandshakeSeconds', z.coerce.number().min(0.1).max(600), '10'],
  // Connections open at once on the provisioning and admin ports (per process), and from one source; a provisioning connection silent this long closes (docs/limits.md).
  PAPGATE_PROVISIONING_MAX_CONNECTIONS: ['provisioningMaxConnections', int(1, 10_000_000), '20000'],
  PAPGATE_PROVISIONING_MAX_CONNECTIONS_PER_SOURCE: ['provisioningMaxConnectionsPerSource', int(1, 10_000_000), '1000'],
  PAPGATE_ADMIN_MAX_CONNECTIONS: ['adminMaxConnections', int(1, 10_000_000), '2000'],
  PAPGATE_ADMIN_MAX_CONNECTIONS_PER_SOURCE: ['adminMaxConnectionsPerSource', int(1, 10_000_000), '256'],
  PAPGATE_PROVISIONING_IDLE_SECONDS: ['provisioningIdleSeconds', z.coerce.number().min(0.1).max(3600), '15'],
  PAPGATE_TRUSTED_PROXIES: ['trustedProxies', list.refine((l) => l.every(isCidr), 'must be a comma-separated list of IPs or CIDRs'), ''],
  PAPGATE_MAX_FAILURES: ['maxFailures', int(1, 100), '3'],
  PAPGATE_LOCKOUT_SECONDS: ['lockoutSeconds', int(1, 31 * 86400), '1800'],
  PAPGATE_MAX_LOCKOUTS: ['maxLockouts', int(1, 100), '3'],
  PAPGATE_SUSPEND_SECONDS: ['suspendSeconds', int(1, 31 * 86400), '1800'],
  PAPGATE_TRUST_SECONDS: ['trustSeconds', int(1, 31 * 86400), '28800'],
  PAPGATE_MINIMAL_RESYNC_SECONDS: ['minimalResyncSeconds', int(30, 86400), '300'],
  PAPGATE_FULL_RESYNC_SECONDS: ['fullResyncSeconds', int(60, 7 * 86400), '14400'],
  PAPGATE_SIGNALLING: ['signalling', z.enum(['embedded', 'drachtio', 'off']), 'embedded'],
  PAPGATE_MEDIA: ['media', z.enum(['embedded', 'freeswitch']), 'embedded'],
  PAPGATE_SIP_ADDRESS: ['sipAddress', z.string().min(1), '0.0.0.0'],
  PAPGATE_SIP_PORT: ['sipPort', port, '5060'],
  PAPGATE_SIP_TRANSPORTS: [
    'sipTransports',
    list.refine((l) => l.length > 0 && l.every((t) => t === 'udp' || t === 'tcp'), 'must be udp, tcp or udp,tcp'),
    'udp,tcp',
  ],
  // SIP over TLS (embedded stack): its own port, the provisioning certificate unless it has its own (docs/tls.md).
  PAPGATE_SIP_TLS_PORT: ['sipTlsPort', port.optional(), undefined],
  PAPGATE_SIP_TLS_CERT: ['sipTlsCert', z.string().min(1).optional(), undefined],
  PAPGATE_SIP_TLS_KEY: ['sipTlsKey', z.string().min(1).optional(), undefined],
  PAPGATE_SIP_ADVERTISED_ADDRESS: ['sipAdvertisedAddress', z.string().min(1).optional(), undefined],
  PAPGATE_SIP_PROXY: [
    'sipProxy',
    z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port')
      .optional(),
    undefined,
  ],
  PAPGATE_SIP_TRUSTED_PROXIES: ['sipTrustedProxies', list.refine((l) => l.every(isCidr), 'must be a comma-separated list of IPs or CIDRs'), ''],
  PAPGATE_SIP_REALM: ['sipRealm', z.string().regex(/^[A-Za-z0-9.-]{1,64}$/), 'papgate'],
  PAPGATE_SIP_NONCE_SECONDS: ['sipNonceSeconds', int(10, 86400), '300'],
  PAPGATE_SIP_NOTIFY_TIMEOUT_SECONDS: ['sipNotifyTimeoutSeconds', z.coerce.number().min(0.5).max(64), String(DEFAULT_NOTIFY_TIMEOUT_MS / 1000)],
  // Order matters: phones answer the topmost challenge they know; some read only the first, some fail on a second (docs/behaviour.md).
  PAPGATE_SIP_DIGEST_ALGORITHMS: [
    'sipDigestAlgorithms',
    list.refine(
      (l) => l.length > 0 && new Set(l).size === l.length && l.every((a) => a === 'MD5' || a === 'SHA-256'),
      'must be MD5 and/or SHA-256, in the order offered, e.g. SHA-256,MD5',
    ) as z.ZodType<('MD5' | 'SHA-256')[]>,
    'MD5',
  ],
  PAPGATE_SIP_TCP_MAX_CONNECTIONS: ['sipTcpMaxConnections', int(1, 1_000_000), '512'],
  PAPGATE_SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: ['sipTcpMaxConnectionsPerSource', int(1, 1_000_000), '32'],
  PAPGATE_SIP_TCP_IDLE_NEW_SECONDS: ['sipTcpIdleNewSeconds', int(1, 3600), '20'],
  PAPGATE_SIP_TCP_IDLE_SECONDS: ['sipTcpIdleSeconds', int(10, 86400), '600'],
  PAPGATE_EMERGENCY_NUMBERS: [
    'emergencyNumbers',
    list.refine((l) => l.length > 0 && l.every((n) => EMERGENCY_NUMBER.test(n)), 'must be a comma-separated list of numbers'),
    DEFAULT_EMERGENCY_NUMBERS.join(','),
  ],
  PAPGATE_EMERGENCY_GATEWAY: [
    'emergencyGateway',
    z
      .string()
      .regex(/^sips?:[^\s]+$/, 'must be a SIP URI such as sip:gw.example.net:5060')
      .optional(),
    undefined,
  ],
  PAPGATE_EMERGENCY_LOOKUP_MS: ['emergencyLookupMs', int(10, 10_000), String(DEFAULT_EMERGENCY_LOOKUP_MS)],
  PAPGATE_EMERGENCY_UNPROVEN_PER_SOURCE: ['emergencyUnprovenPerSource', int(0, 1000), '2'],
  PAPGATE_HOTLINE: ['hotline', z.string().regex(/^[0-9*#]{1,16}$/), '*89'],
  PAPGATE_RTP_ADDRESS: ['rtpAddress', z.string().min(1), '0.0.0.0'],
  PAPGATE_RTP_PORT_MIN: ['rtpPortMin', int(1024, 65534), '20000'],
  PAPGATE_RTP_PORT_MAX: ['rtpPortMax', int(1025, 65535), '20999'],
  PAPGATE_RTP_TIMEOUT_SECONDS: ['rtpTimeoutSeconds', int(1, 3600), '30'],
  // Embedded media: on sends a silence frame every 20 ms between prompts, for phones or SBCs that hang up on a quiet stream; off sends prompts as talkspurts, nothing between.
  PAPGATE_RTP_SILENCE: ['rtpSilence', z.enum(['off', 'on']), 'off'],
  // SRTP with SDES keys on IVR calls (embedded media); required: plain RTP offers get 488.
  PAPGATE_SRTP: ['srtp', z.enum(['off', 'optional', 'required']), 'optional'],
  // The embedded media engine (RTP, prompts, DTMF) on a worker thread of its own: off runs it on the main event loop, auto when the machine has 2 cores or more.
  PAPGATE_MEDIA_THREAD: ['mediaThread', z.enum(['auto', 'on', 'off']), 'auto'],
  // The media thread's nice value (-20 … 19; raising it needs CAP_SYS_NICE or LimitNICE); keep leaves the process's.
  PAPGATE_MEDIA_NICE: ['mediaNice', z.union([z.literal('keep'), int(-20, 19)]), '-10'],
  PAPGATE_MAX_CALL_SECONDS: ['maxCallSeconds', int(5, 3600), '180'],
  PAPGATE_MAX_CALLS_PER_DEVICE: ['maxCallsPerDevice', int(1, 10_000), '2'],
  // Per-source rate limits (docs/limits.md); 0 turns one off. Sized for ~1,000 phones behind one NAT address.
  PAPGATE_LIMIT_SIP_PER_SECOND: ['limitSipPerSecond', int(0, 1_000_000), '100'],
  PAPGATE_LIMIT_SIP_BURST: ['limitSipBurst', int(1, 10_000_000), '2000'],
  PAPGATE_LIMIT_IVR_CALLS_PER_MINUTE: ['limitIvrCallsPerMinute', int(0, 1_000_000), '60'],
  PAPGATE_LIMIT_IVR_CALLS_PER_DEVICE_PER_MINUTE: ['limitIvrCallsPerDevicePerMinute', int(0, 10_000), '4'],
  PAPGATE_LIMIT_PROVISIONING_404_PER_MINUTE: ['limitProvisioning404PerMinute', int(0, 1_000_000), '300'],
  PAPGATE_LIMIT_PROVISIONING_404_BURST: ['limitProvisioning404Burst', int(1, 10_000_000), '3000'],
  PAPGATE_LIMIT_PROVISIONING_PER_SECOND: ['limitProvisioningPerSecond', int(0, 1_000_000), '100'],
  PAPGATE_LIMIT_PROVISIONING_BURST: ['limitProvisioningBurst', int(1, 10_000_000), '5000'],
  PAPGATE_LIMIT_MAX_SOURCES: ['limitMaxSources', int(100, 10_000_000), '100000'],
  PAPGATE_LIMIT_EXEMPT: ['limitExempt', list.refine((l) => l.every(isCidr), 'must be a comma-separated list of IPs or CIDRs'), ''],
  PAPGATE_IVR_FIRST_DIGIT_SECONDS: ['ivrFirstDigitSeconds', z.coerce.number().min(0.1).max(120), '7'],
  PAPGATE_IVR_INTER_DIGIT_SECONDS: ['ivrInterDigitSeconds', z.coerce.number().min(0.1).max(120), '5'],
  PAPGATE_IVR_REPROMPTS: ['ivrReprompts', int(0, 10), '3'],
  PAPGATE_PROMPTS_DIR: ['promptsDir', z.string().min(1).optional(), undefined],
  // Webhooks (docs/webhooks.md).
  PAPGATE_WEBHOOK_TIMEOUT_SECONDS: ['webhookTimeoutSeconds', z.coerce.number().min(0.1).max(300), '10'],
  PAPGATE_WEBHOOK_CONNECT_TIMEOUT_SECONDS: ['webhookConnectTimeoutSeconds', z.coerce.number().min(0.1).max(300), '5'],
  PAPGATE_WEBHOOK_RETRY_SECONDS: ['webhookRetrySeconds', z.coerce.number().min(0.01).max(3600), '1'],
  PAPGATE_WEBHOOK_RETRY_MAX_SECONDS: ['webhookRetryMaxSeconds', z.coerce.number().min(0.01).max(86400), '3600'],
  PAPGATE_WEBHOOK_MAX_ATTEMPTS: ['webhookMaxAttempts', int(1, 1000), '20'],
  PAPGATE_WEBHOOK_MAX_AGE_HOURS: [
    'webhookMaxAgeHours',
    z.coerce
      .number()
      .min(0.001)
      .max(24 * 31),
    '24',
  ],
  PAPGATE_WEBHOOK_CONCURRENCY: ['webhookConcurrency', int(1, 1000), '16'],
  PAPGATE_WEBHOOK_PER_TENANT: ['webhookPerTenant', int(1, 1000), '4'],
  PAPGATE_WEBHOOK_POLL_SECONDS: ['webhookPollSeconds', z.coerce.number().min(0.01).max(3600), '1'],
  PAPGATE_WEBHOOK_PRIVATE_TARGETS: ['webhookPrivateTargets', z.enum(['allow', 'deny']), 'allow'],
  PAPGATE_WEBHOOK_CA: ['webhookCa', z.string().min(1).optional(), undefined],
  PAPGATE_DRACHTIO_HOST: ['drachtioHost', z.string().min(1), '127.0.0.1'],
  PAPGATE_DRACHTIO_PORT: ['drachtioPort', port, '9022'],
  PAPGATE_DRACHTIO_SECRET: ['drachtioSecret', z.string().min(1), 'cymru'],
  PAPGATE_FREESWITCH_HOST: ['freeswitchHost', z.string().min(1), '127.0.0.1'],
  PAPGATE_FREESWITCH_PORT: ['freeswitchPort', port, '8021'],
  PAPGATE_FREESWITCH_SECRET: ['freeswitchSecret', z.string().min(1), 'ClueCon'],
  PAPGATE_FREESWITCH_PROMPTS: ['freeswitchPrompts', z.string().min(1), '/usr/share/papgate/prompts'],
  PAPGATE_FREESWITCH_LISTEN_ADDRESS: ['freeswitchListenAddress', z.string().min(1), '0.0.0.0'],
  PAPGATE_FREESWITCH_LISTEN_PORT: ['freeswitchListenPort', port, '8085'],
} as const;

type Settings = typeof SETTINGS;
export type Config = Readonly<{
  [K in keyof Settings as Settings[K][0]]: z.output<Settings[K][1]>;
}>;

/** A file path, or a postgres:// / postgresql:// URL naming a host. */
function isDbLocation(s: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return true;
  if (!/^postgres(ql)?:\/\//i.test(s)) return false;
  try {
    return new URL(s).hostname !== '';
  } catch {
    return false; // not a URL: the caller reports the setting as invalid
  }
}

/** Settings whose value is never echoed in an error (a database URL may hold a password). */
const SECRET_SETTINGS = new Set(['PAPGATE_DB', 'PAPGATE_ADMIN_TOKEN']);

function isCidr(s: string): boolean {
  try {
    parseAllowEntry(s);
    return true;
  } catch {
    return false; // the caller reports the setting as invalid
  }
}

/** A rejected value as the error message shows it: tokens and secrets stay out of terminals and logs. */
function shown(name: string, raw: string | undefined): string {
  // A database URL may carry a password.
  return (/TOKEN|SECRET/.test(name) || SECRET_SETTINGS.has(name)) && raw !== undefined ? '(hidden)' : JSON.stringify(raw);
}

/** SIP over TLS needs a certificate, and only the embedded stack has it. */
function sipTlsProblems(out: Record<string, unknown>): string[] {
  if (out.sipTlsPort === undefined) return [];
  if (out.signalling === 'drachtio') return ['PAPGATE_SIP_TLS_PORT is for the embedded SIP stack, not drachtio'];
  // With signalling off it only tells phones (minimal configuration) where another node listens.
  if (out.signalling === 'embedded' && out.sipTlsCert === undefined && out.tlsCert === undefined) {
    return ['PAPGATE_SIP_TLS_PORT needs a certificate: PAPGATE_SIP_TLS_CERT and PAPGATE_SIP_TLS_KEY, or PAPGATE_TLS_CERT and PAPGATE_TLS_KEY'];
  }
  return [];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Builds the Config from environment variables, then `overrides` (flags of
 * `papgate serve`, keyed by environment variable name) on top.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, string | undefined> = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [key, schema, fallback]] of Object.entries(SETTINGS)) {
    const raw = overrides[name] ?? env[name];
    const value = raw === undefined || raw === '' ? fallback : raw;
    const r = (schema as z.ZodType).safeParse(value);
    if (r.success) out[key] = r.data;
    else problems.push(`${name}=${shown(name, raw)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length === 0 && (out.rtpPortMin as number) >= (out.rtpPortMax as number)) {
    problems.push('PAPGATE_RTP_PORT_MIN must be below PAPGATE_RTP_PORT_MAX');
  }
  for (const [cert, key] of [
    ['PAPGATE_TLS_CERT', 'PAPGATE_TLS_KEY'],
    ['PAPGATE_ADMIN_TLS_CERT', 'PAPGATE_ADMIN_TLS_KEY'],
    ['PAPGATE_SIP_TLS_CERT', 'PAPGATE_SIP_TLS_KEY'],
  ] as const) {
    if ((out[SETTINGS[cert][0]] === undefined) !== (out[SETTINGS[key][0]] === undefined)) problems.push(`${cert} and ${key} must be set together`);
  }
  problems.push(...sipTlsProblems(out));
  if (out.deviceCa !== undefined && out.tlsCert === undefined)
    problems.push('PAPGATE_DEVICE_CA needs PAPGATE_TLS_CERT and PAPGATE_TLS_KEY (device certificates need HTTPS)');
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as Config;
}
