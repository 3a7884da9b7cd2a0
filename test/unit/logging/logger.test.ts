import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, submissionLogger, type LoggerOptions } from '../../../src/logging/logger.js';
import {
  clearRegisteredSecrets,
  redact,
  redactText,
  registerSecret,
  REDACTED,
} from '../../../src/logging/redact.js';

const TOKEN = 'eyJ0eXAiOiJKV1QifQ.dGVzdC1wYXlsb2FkLWZvci1yZWRhY3Rpb24.c2lnbmF0dXJlLXBhcnQ';

/** A logger writing into memory; `lines()` waits for winston to flush. */
function capture(options: Omit<LoggerOptions, 'stream'>) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ ...options, stream });
  return {
    logger,
    lines: async () => {
      await new Promise((resolve) => {
        setImmediate(resolve);
      });
      return text
        .trim()
        .split('\n')
        .filter((line) => line.length > 0);
    },
  };
}

afterEach(() => {
  clearRegisteredSecrets();
});

describe('log lines about a submission', () => {
  it('carry the submission and evaluation ids in JSON', async () => {
    const { logger, lines } = capture({ level: 'info', format: 'json' });
    submissionLogger(logger, { submissionId: '9731234', evaluationId: '9614045' }).info('workflow started', {
      jobId: 'job-1',
    });
    const [line] = await lines();
    expect(JSON.parse(line ?? '')).toMatchObject({
      level: 'info',
      message: 'workflow started',
      submissionId: '9731234',
      evaluationId: '9614045',
      jobId: 'job-1',
      timestamp: expect.any(String) as string,
    });
  });

  it('carry them in the pretty format too', async () => {
    const { logger, lines } = capture({ level: 'info', format: 'pretty' });
    submissionLogger(logger, { submissionId: '9731234', evaluationId: '9614045' }).warn('log upload failed', {
      attempt: 2,
    });
    const [line] = await lines();
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\dT\S+ WARN {2}\[eval 9614045 sub 9731234\] log upload failed attempt=2$/,
    );
  });

  it('respect the level', async () => {
    const { logger, lines } = capture({ level: 'warn', format: 'json' });
    logger.info('not shown');
    logger.debug('not shown either');
    logger.warn('shown');
    expect(await lines()).toHaveLength(1);
  });
});

describe('redaction in the logs', () => {
  it('removes a registered token from messages, metadata and errors', async () => {
    registerSecret(TOKEN);
    const { logger, lines } = capture({ level: 'debug', format: 'json' });
    logger.info(`using token ${TOKEN}`, { detail: `config has ${TOKEN}` });
    logger.error('request failed', { error: new Error(`401 for ${TOKEN}`) });
    const output = (await lines()).join('\n');
    expect(output).not.toContain(TOKEN);
    expect(output.split(REDACTED).length - 1).toBeGreaterThanOrEqual(3);
  });

  it('removes Authorization headers and secret-named fields even when nothing was registered', async () => {
    const { logger, lines } = capture({ level: 'debug', format: 'pretty' });
    logger.debug('request', {
      request: {
        method: 'GET',
        headers: { Authorization: 'Bearer abc.def.ghi', Accept: 'application/json' },
      },
      dockerhub: { username: 'someone', password: 'hub-pass-123' },
      synapseConfig: '[authentication]\nusername=bot\nauthtoken=plain-secret-value\n',
    });
    const [line] = await lines();
    expect(line).not.toContain('abc.def.ghi');
    expect(line).not.toContain('hub-pass-123');
    expect(line).not.toContain('plain-secret-value');
    expect(line).toContain('application/json');
    expect(line).toContain('someone');
  });
});

describe('redactText and redact', () => {
  it('catch token shapes: Bearer values, JWTs, credential-file lines', () => {
    expect(redactText('Authorization: Bearer sk-123456')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText(`token is ${TOKEN}!`)).toBe(`token is ${REDACTED}!`);
    expect(redactText('authtoken=abc123def\nusername=bot')).toBe(`authtoken=${REDACTED}\nusername=bot`);
  });

  it('leave ordinary text alone', () => {
    const text = 'Submission 9731234 in evaluation 9614045 finished with exit code 3';
    expect(redactText(text)).toBe(text);
  });

  it('copy objects without touching the original, and survive cycles', () => {
    const original: Record<string, unknown> = { token: 'abc-secret', nested: { list: ['x'] } };
    original.self = original;
    const copy = redact(original) as Record<string, unknown>;
    expect(copy.token).toBe(REDACTED);
    expect(copy.self).toBe('[circular]');
    expect(original.token).toBe('abc-secret');
  });

  it('do not register secrets too short to redact safely', () => {
    registerSecret('abc');
    expect(redactText('abcdef')).toBe('abcdef');
  });
});
