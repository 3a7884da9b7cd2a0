/** A final log that could not be uploaded: kept for the organizers' eyes only, named in the log, kept once. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Services } from '../../../src/evaluation/services.js';
import { JobDirectory, type JobRoot } from '../../../src/evaluation/job-directory.js';
import {
  UNUPLOADED_LOGS_DIR,
  keepUnuploadedLog,
  keptLogOf,
  logPathOf,
} from '../../../src/evaluation/job-logs.js';
import { createLogger } from '../../../src/logging/logger.js';

const JOB = 'workflow_job.7c2e';
const SUBMISSION = '9731';
const roots: string[] = [];

/** A work directory with one job whose log holds `text`, and a context that logs into memory. */
async function setUp(text = 'STDOUT 2026-01-01T00:00:00Z step printed a secret-ish line\n') {
  const workDir = mkdtempSync(join(tmpdir(), 'kept-logs-'));
  roots.push(workDir);
  const jobRoot: JobRoot = {
    local: join(workDir, 'jobs'),
    host: '/srv/orchestrator/jobs',
    source: 'configured',
  };
  const stream = new PassThrough();
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const logger = createLogger({ level: 'info', format: 'json', stream });
  const ctx = { jobRoot, logger } as unknown as Services;
  await JobDirectory.create(jobRoot, JOB);
  writeFileSync(logPathOf(ctx, JOB), text, { mode: 0o644 });
  const logged = async () => {
    await new Promise((resolve) => {
      setImmediate(resolve);
    });
    return output
      .trim()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  return { workDir, ctx, logged, text };
}

afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('keepUnuploadedLog', () => {
  it('keeps the log readable by the orchestrator’s user only: directory 0700, file 0600', async () => {
    const { workDir, ctx, text } = await setUp();
    const keptAt = await keepUnuploadedLog(ctx, JOB, SUBMISSION);
    expect(keptAt).toBe(`/srv/orchestrator/${UNUPLOADED_LOGS_DIR}/${SUBMISSION}_logs.txt`);
    const directory = join(workDir, UNUPLOADED_LOGS_DIR);
    const file = join(directory, `${SUBMISSION}_logs.txt`);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('a directory made earlier with wider permissions is narrowed', async () => {
    const { workDir, ctx } = await setUp();
    const directory = join(workDir, UNUPLOADED_LOGS_DIR);
    mkdirSync(directory);
    chmodSync(directory, 0o755);
    await keepUnuploadedLog(ctx, JOB, SUBMISSION);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
  });

  it('names each kept log in the orchestrator’s log at warn level', async () => {
    const { ctx, logged } = await setUp();
    const keptAt = await keepUnuploadedLog(ctx, JOB, SUBMISSION);
    const lines = await logged();
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'warn', path: keptAt, submissionId: SUBMISSION, job: JOB }),
      ]),
    );
  });

  it('kept once: a retried finish finds it kept, and keeping it again gives the same path, not "could not be kept"', async () => {
    const { ctx } = await setUp();
    expect(await keptLogOf(ctx, JOB, SUBMISSION)).toBeUndefined();
    const keptAt = await keepUnuploadedLog(ctx, JOB, SUBMISSION);
    const kept = await keptLogOf(ctx, JOB, SUBMISSION);
    expect(kept?.host).toBe(keptAt);
    expect(await keepUnuploadedLog(ctx, JOB, SUBMISSION)).toBe(keptAt);
  });

  it('a later run of the same submission (a new job) is not taken for kept', async () => {
    const { ctx } = await setUp();
    await keepUnuploadedLog(ctx, JOB, SUBMISSION);
    expect(await keptLogOf(ctx, 'workflow_job.other', SUBMISSION)).toBeUndefined();
  });
});
