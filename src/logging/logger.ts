/**
 * The process logger: winston, one JSON object per line or readable lines, always redacted.
 *
 * Everything goes to stderr, so commands that print results on stdout (`validate --json`) stay parseable.
 * Lines about one submission come from `submissionLogger`, which stamps them with the submission and
 * evaluation ids.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';
import type { LogFormat, LogLevel } from '../config/config.js';
import { redact } from './redact.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where to write (default: stderr). */
  stream?: Writable;
}

const redactSecrets = winston.format((info) => {
  const cleaned = redact({ ...info }) as Record<string, unknown>;
  for (const key of Object.keys(info)) {
    if (key !== 'level') info[key] = cleaned[key];
  }
  return info;
});

const CONTEXT_KEYS = new Set(['level', 'message', 'timestamp', 'submissionId', 'evaluationId', 'stack']);

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function prettyLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, submissionId, evaluationId, stack } = info as Record<string, unknown>;
  const context =
    submissionId === undefined ? '' : ` [eval ${text(evaluationId ?? '?')} sub ${text(submissionId)}]`;
  const extras = Object.entries(info)
    .filter(([key]) => !CONTEXT_KEYS.has(key))
    .map(([key, value]) => `${key}=${text(value)}`);
  const rest = extras.length > 0 ? ` ${extras.join(' ')}` : '';
  const trace = typeof stack === 'string' ? `\n${stack}` : '';
  return `${text(timestamp)} ${text(level).toUpperCase().padEnd(5)}${context} ${text(message)}${rest}${trace}`;
}

export function createLogger(options: LoggerOptions): Logger {
  const { errors, timestamp, json, printf, combine } = winston.format;
  const shape = options.format === 'json' ? json() : printf(prettyLine);
  const transport =
    options.stream === undefined
      ? new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })
      : new winston.transports.Stream({ stream: options.stream });
  return winston.createLogger({
    level: options.level,
    format: combine(errors({ stack: true }), timestamp(), redactSecrets(), shape),
    // winston declares its transports as interfaces, which this rule cannot match to the base class.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [transport],
  });
}

export interface SubmissionRef {
  submissionId: string;
  evaluationId: string;
}

/** A logger whose every line carries the submission and evaluation ids. */
export function submissionLogger(logger: Logger, ref: SubmissionRef): Logger {
  return logger.child({ submissionId: ref.submissionId, evaluationId: ref.evaluationId });
}
