/**
 * The error annotations a submission already carried when this run of it was claimed.
 *
 * An admin who re-queues a submission (sets it back to RECEIVED) leaves the earlier run's annotations on
 * its status, `submission_errors` included, and the claim keeps them (they are the workflow's, not the
 * orchestrator's). A re-run that fails before its own validate step rewrites them would then be explained
 * by the earlier run's error. So the claim's values of the error annotations are recorded in the job
 * directory, which lives as long as the job and survives a restart of the orchestrator; at the end, an
 * annotation whose values are still the recorded ones is the earlier run's and is not quoted.
 *
 * The record holds digests, not text: the job directory is the engine's, and an earlier error may have
 * been private. A run that writes exactly the earlier error again looks unchanged; its log explains it.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { SubmissionStatus } from '../synapse/types.js';
import type { JobDirectory } from './job-directory.js';

export const ERRORS_AT_CLAIM_FILE = '.error-annotations-at-claim.json';

/** A digest of each error annotation's values at the claim, by name (names it did not have are absent). */
export type RecordedErrorAnnotations = Readonly<Record<string, string>>;

/** A digest of the annotation's v1 and v2 values together; undefined when the status has neither. */
export function annotationDigest(status: SubmissionStatus, name: string): string | undefined {
  const v1 = status.annotations?.stringAnnos?.find((a) => a.key === name);
  const v2 = status.submissionAnnotations?.annotations[name];
  if (v1 === undefined && v2 === undefined) return undefined;
  return createHash('sha256')
    .update(JSON.stringify([v1?.value ?? null, v2?.value ?? null]))
    .digest('hex');
}

/** The digests of `names` on `status`. */
export function errorAnnotationsOf(
  status: SubmissionStatus,
  names: readonly string[],
): RecordedErrorAnnotations {
  const recorded: Record<string, string> = {};
  for (const name of names) {
    const digest = annotationDigest(status, name);
    if (digest !== undefined) recorded[name] = digest;
  }
  return recorded;
}

/** True when `name` holds the same values as at the claim (an earlier run's annotation). */
export function isUnchanged(
  status: SubmissionStatus,
  name: string,
  earlier: RecordedErrorAnnotations,
): boolean {
  const before = earlier[name];
  return before !== undefined && annotationDigest(status, name) === before;
}

/** Records the claimed status's error annotations in the job directory. */
export async function recordErrorAnnotations(
  directory: JobDirectory,
  status: SubmissionStatus,
  names: readonly string[],
): Promise<void> {
  const body = JSON.stringify(errorAnnotationsOf(status, names));
  await writeFile(directory.localFile(ERRORS_AT_CLAIM_FILE), body, { mode: 0o600 });
}

/**
 * What was recorded at the claim; undefined when nothing was (a job started by an older version, a job
 * directory gone), and then no annotation is taken for an earlier run's.
 */
export async function readRecordedErrorAnnotations(
  directory: JobDirectory,
): Promise<RecordedErrorAnnotations | undefined> {
  let text: string;
  try {
    text = await readFile(directory.localFile(ERRORS_AT_CLAIM_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  } catch {
    return undefined;
  }
}
