/**
 * How a Docker-image evaluation ended, from its containers' states and what they left: the reason a
 * participant is told (time limit, memory, exit code, output missing or too large, the scorer failing) and
 * the scores the scorer wrote.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { formatBytes, formatDuration } from '../../../evaluation/outcome.js';
import type { ImageEvaluation } from '../../../templates/evaluation-file.js';
import type { JobState, RunResults } from '../../interfaces.js';
import { exists, sizeOf } from './output-files.js';

/** Marks the runner leaves in the job directory when it stops a container itself. */
export const TIMED_OUT_MARK = '.timed-out';
export const OUTPUT_EXCEEDED_MARK = '.output-exceeded';
const SCORES_FILE = 'scores.json';

export type Verdict = { reason: string; timedOut: boolean } | undefined;

/** Why the participant's container failed, for them; undefined when it succeeded and left a fit output. */
export async function submissionFailure(
  state: Extract<JobState, { kind: 'exited' }>,
  localDir: string,
  evaluation: ImageEvaluation,
): Promise<{ reason: string; timedOut: boolean } | undefined> {
  const sub = evaluation.submission;
  if (state.submissionFailure?.timedOut === true) {
    return {
      reason: `Your container ran longer than the time limit of ${formatDuration(sub.timeSeconds)} and was stopped.`,
      timedOut: true,
    };
  }
  // Stopped for writing too much, or wrote too much and exited: the size is the reason either way.
  const written = await sizeOf(join(localDir, 'output'));
  if (written.bytes > sub.outputBytes || (await exists(join(localDir, OUTPUT_EXCEEDED_MARK)))) {
    return {
      reason: `Your container wrote ${formatBytes(written.bytes)} to /output, more than the limit of ${formatBytes(sub.outputBytes)}.`,
      timedOut: false,
    };
  }
  if (state.oomKilled) {
    return {
      reason: `Your container ran out of memory (limit ${formatBytes(sub.memoryBytes)}).`,
      timedOut: false,
    };
  }
  if (state.exitCode !== 0) {
    return {
      reason: `Your container exited with code ${state.exitCode}${exitMeaning(state.exitCode)}.`,
      timedOut: false,
    };
  }
  if (written.files === 0) {
    return {
      reason: 'Your container wrote nothing to /output; write your predictions there.',
      timedOut: false,
    };
  }
  return undefined;
}

export function scoringFailure(
  state: Extract<JobState, { kind: 'exited' }>,
  scoring: NonNullable<ImageEvaluation['scoring']>,
): { reason: string; timedOut: boolean } | undefined {
  if (state.submissionFailure?.timedOut === true) {
    return {
      reason: `Scoring your output took longer than its limit of ${formatDuration(scoring.timeSeconds)}.`,
      timedOut: true,
    };
  }
  if (state.oomKilled) {
    return {
      reason: `Scoring your output ran out of memory (limit ${formatBytes(scoring.memoryBytes)}).`,
      timedOut: false,
    };
  }
  if (state.exitCode !== 0) {
    return {
      reason: `The scoring of your output failed (the scorer exited with code ${state.exitCode}); its messages are in your log.`,
      timedOut: false,
    };
  }
  return undefined;
}

/** scores.json as annotations, or what is wrong with it (a problem for the organizers). */
export async function readScores(localDir: string): Promise<RunResults['scores'] | string> {
  let text: string;
  try {
    text = await readFile(join(localDir, 'scoring', SCORES_FILE), 'utf8');
  } catch {
    return `the scorer exited 0 without writing /scoring/${SCORES_FILE}`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `the scorer's /scoring/${SCORES_FILE} is not JSON`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `the scorer's /scoring/${SCORES_FILE} is not a JSON object`;
  }
  const scores: RunResults['scores'] = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') scores[key] = v;
    else return `the scorer's /scoring/${SCORES_FILE} has ${key}, which is not a string, number or boolean`;
  }
  return scores;
}

function exitMeaning(code: number): string {
  if (code === 137) return ' (killed)';
  if (code === 126) return ' (its command could not be executed)';
  if (code === 127) return ' (its command was not found in the image)';
  return '';
}
