import { createHmac } from 'node:crypto';
import { invalid } from './errors';
import type { AuthState } from './types';

/** The device states a tenant's webhook hears of. */
export const WEBHOOK_STATES = ['blocked', 'failed', 'successful'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];

/** The event name a state change is delivered as. */
export function webhookEventName(state: WebhookState): string {
  return `device.${state}`;
}

/**
 * The state a change from `before` to `after` (both effective states) is
 * announced as, or null when it is not announced: only entering one of the
 * WEBHOOK_STATES counts, staying in it does not.
 */
export function announcedState(before: AuthState | null, after: AuthState): WebhookState | null {
  if (before === after) return null;
  return (WEBHOOK_STATES as readonly string[]).includes(after) ? (after as WebhookState) : null;
}

/**
 * The signature header value: HMAC-SHA256 over `${t}.${body}` with the
 * tenant's secret, t in whole seconds (receivers reject old timestamps to
 * stop replays).
 */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

export interface BackoffPolicy {
  /** Delay before the 2nd attempt; doubled for each attempt after it. */
  firstDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  /** An event older than this is given up after its next failed attempt. */
  maxAgeMs: number;
}

/**
 * When to try again after `attempts` failed attempts, or null to give up.
 * Exponential with "equal jitter" (half fixed, half random) so receivers
 * coming back from an outage are not hit by every event at once.
 * `random01` is in [0, 1).
 */
export function nextAttemptAt(p: BackoffPolicy, attempts: number, createdAt: number, now: number, random01: number): number | null {
  if (attempts >= p.maxAttempts || now - createdAt >= p.maxAgeMs) return null;
  const base = Math.min(p.maxDelayMs, p.firstDelayMs * 2 ** Math.min(30, attempts - 1));
  return now + Math.round(base / 2 + (base / 2) * random01);
}

const MAX_URL_LENGTH = 2048;

/**
 * A webhook URL as an operator may set it: http or https, a host, no
 * user:password part (it would be shown wherever the URL is). Returns the
 * normalised URL or throws 'invalid' naming the field `url`.
 */
export function parseWebhookUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid('url', 'url is required (an http:// or https:// URL)');
  if (raw.length > MAX_URL_LENGTH) throw invalid('url', `url must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('url', `${JSON.stringify(raw)} is not a URL`); // the parser's own message says less
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url', `url must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.hostname === '') throw invalid('url', 'url must name a host');
  if (url.username !== '' || url.password !== '') throw invalid('url', 'url must not carry a user name or password: receivers check the signature instead');
  url.hash = '';
  return url.toString();
}
