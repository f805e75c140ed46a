import path from 'node:path';
import { z } from 'zod';
import { isValidIsoDuration } from '../domain/durations';

const isoDuration = (name: string) =>
  z.string().trim().refine(isValidIsoDuration, { message: `${name} must be a positive ISO 8601 duration such as P1Y or PT30S` });

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'DATABASE_URL must start with postgres:// or postgresql://' })
    .optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('dms-link'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TOKEN_VALIDITY: isoDuration('TOKEN_VALIDITY').default('P1Y'),
  REMINDER_OFFSETS: z
    .string()
    .default('P30D,P14D,P7D,P1D')
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .refine((list) => list.every(isValidIsoDuration), {
      message: 'REMINDER_OFFSETS must be a comma-separated list of ISO 8601 durations such as P30D,P14D',
    }),
  INSTALL_REMINDER_AFTER: isoDuration('INSTALL_REMINDER_AFTER').default('P7D'),
  DEP_SESSION_TTL: isoDuration('DEP_SESSION_TTL').default('PT30M'),
  OAUTH_TIMESTAMP_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  BOOTSTRAP_ADMIN_API_KEY: z.string().min(16, 'BOOTSTRAP_ADMIN_API_KEY must be at least 16 characters').optional(),
  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, { message: 'SECRETS_KEY must be 32 bytes, base64-encoded' })
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_CERTIFICATES_PER_ORGANIZATION: z.coerce.number().int().min(1).default(250),
});

export type Config = Omit<z.infer<typeof schema>, 'DATA_DIR'> & { DATA_DIR: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; one message per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.');
        return issue.message.startsWith(key) ? issue.message : `${key}: ${issue.message}`;
      }),
    );
  }
  return { ...result.data, DATA_DIR: path.resolve(result.data.DATA_DIR) };
}

/** The lifecycle durations handed to every link workflow as input. */
export interface LifecycleDurations {
  tokenValidity: string;
  reminderOffsets: string[];
  installReminderAfter: string;
}

export function lifecycleDurations(config: Config): LifecycleDurations {
  return {
    tokenValidity: config.TOKEN_VALIDITY,
    reminderOffsets: config.REMINDER_OFFSETS,
    installReminderAfter: config.INSTALL_REMINDER_AFTER,
  };
}
