import pino from 'pino';

/**
 * Structured JSON logs. The redact list is a safety net: secrets are never passed to the logger on
 * purpose, and these paths make sure a careless `log.info({ req })` cannot leak one either.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-adm-auth-session"]',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'consumerSecret',
  'accessSecret',
  '*.consumerSecret',
  '*.accessSecret',
];

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): pino.Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'dms-link' } });
}

export type Logger = pino.Logger;
