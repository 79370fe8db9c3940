import pino from 'pino';
import type { Logger } from '../ports/logger';

/**
 * Paths pino blanks out wherever they appear: a PAP, an identity secret or a
 * SIP password must never reach a log, even when a whole object is logged.
 */
export const REDACT_PATHS = [
  'pap',
  '*.pap',
  '*.*.pap',
  'secret',
  '*.secret',
  '*.*.secret',
  'password',
  '*.password',
  '*.*.password',
  '*.lines[*].password',
  'sipPassword',
  '*.sipPassword',
  '*.*.sipPassword',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'pin',
  '*.pin',
  'digits',
  '*.digits',
];

export interface LoggerOptions {
  level?: string;
  /** Where to write (default stdout); tests pass a stream to read the log back. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(o: LoggerOptions = {}): Logger & pino.Logger {
  const opts: pino.LoggerOptions = {
    level: o.level ?? 'info',
    base: { app: 'papgate' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return (o.destination ? pino(opts, o.destination as pino.DestinationStream) : pino(opts)) as Logger & pino.Logger;
}
