/** An earlier run's error annotations (a re-queued submission) are recorded at the claim and not quoted. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ERRORS_AT_CLAIM_FILE,
  readRecordedErrorAnnotations,
  recordErrorAnnotations,
} from '../../../src/evaluation/earlier-errors.js';
import { ERROR_ANNOTATIONS, errorAnnotation } from '../../../src/evaluation/failure-reason.js';
import { JobDirectory, type JobRoot } from '../../../src/evaluation/job-directory.js';
import type { SubmissionStatus } from '../../../src/synapse/types.js';

const EARLIER = "'probability' is missing from the prediction file";
const roots: string[] = [];

async function jobDirectory(): Promise<JobDirectory> {
  const dir = mkdtempSync(join(tmpdir(), 'earlier-errors-'));
  roots.push(dir);
  const root: JobRoot = { local: dir, host: dir, source: 'same as work directory' };
  return JobDirectory.create(root, 'workflow_job.5a1b');
}

/** A status carrying `submission_errors` (v2, as Sage's templates write it) and, optionally, v1 entries. */
function status(errors: string | undefined, v1?: { key: string; value: string }[]): SubmissionStatus {
  return {
    id: '9',
    etag: 'e',
    status: 'EVALUATION_IN_PROGRESS',
    statusVersion: 1,
    ...(v1 === undefined
      ? {}
      : { annotations: { stringAnnos: v1.map((a) => ({ ...a, isPrivate: false })) } }),
    submissionAnnotations: {
      id: '9',
      etag: 'e',
      annotations: errors === undefined ? {} : { submission_errors: { type: 'STRING', value: [errors] } },
    },
  };
}

afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('error annotations recorded at the claim', () => {
  it("an earlier run's submission_errors, unchanged at the end, is not quoted; a new value is", async () => {
    const directory = await jobDirectory();
    await recordErrorAnnotations(directory, status(EARLIER), ERROR_ANNOTATIONS);
    const earlier = await readRecordedErrorAnnotations(directory);
    expect(earlier).toBeDefined();

    // The re-run failed before its validate step: the status still holds the earlier run's error.
    expect(errorAnnotation(status(EARLIER), earlier)).toBeUndefined();
    // Without the record (the behaviour this fixes) the earlier error would be quoted.
    expect(errorAnnotation(status(EARLIER))?.text).toBe(EARLIER);
    // The re-run wrote its own error: that one is quoted.
    expect(errorAnnotation(status("'id' is missing"), earlier)?.text).toBe("'id' is missing");
  });

  it('an error annotation absent at the claim counts whatever it says; an unchanged one gives way to the next name', async () => {
    const directory = await jobDirectory();
    await recordErrorAnnotations(directory, status(undefined), ERROR_ANNOTATIONS);
    const none = await readRecordedErrorAnnotations(directory);
    expect(errorAnnotation(status(EARLIER), none)?.text).toBe(EARLIER);

    await recordErrorAnnotations(directory, status(EARLIER), ERROR_ANNOTATIONS);
    const some = await readRecordedErrorAnnotations(directory);
    const older = [{ key: 'prediction_file_errors', value: 'bad header' }];
    expect(errorAnnotation(status(EARLIER, older), some)).toMatchObject({
      name: 'prediction_file_errors',
      text: 'bad header',
    });
  });

  it('the record holds digests only, readable by the owner only, and survives a new process (a file)', async () => {
    const directory = await jobDirectory();
    await recordErrorAnnotations(directory, status(EARLIER), ERROR_ANNOTATIONS);
    const path = directory.localFile(ERRORS_AT_CLAIM_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('probability');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['submission_errors']);
  });

  it('no record (a job started by an older version) or a broken one: nothing is taken for an earlier run’s', async () => {
    const directory = await jobDirectory();
    expect(await readRecordedErrorAnnotations(directory)).toBeUndefined();
    writeFileSync(directory.localFile(ERRORS_AT_CLAIM_FILE), '[not json');
    expect(await readRecordedErrorAnnotations(directory)).toBeUndefined();
    expect(errorAnnotation(status(EARLIER), undefined)?.text).toBe(EARLIER);
  });
});
