/**
 * How a submission's run ended, and how each ending is written: SWO's StatusDescription texts (dashboards
 * filter on them) and a FailureReason a participant can act on.
 */

import type { EngineKind, RunResults } from '../engine/interfaces.js';

export type Outcome =
  | { kind: 'succeeded'; results?: RunResults }
  /** The participant's own submission failed (a Docker-image evaluation), with a reason made for them. */
  | { kind: 'submission-failed'; reason: string; timedOut: boolean }
  | { kind: 'failed'; exitCode: number }
  | { kind: 'out-of-memory'; limitBytes: number | undefined }
  | { kind: 'stopped-on-request' }
  | { kind: 'timed-out'; by: 'time-remaining' }
  | { kind: 'timed-out'; by: 'max-runtime'; limitSeconds: number }
  | { kind: 'pull-failed'; image: string; detail: string }
  | { kind: 'template-broken'; templateEntityId: string; detail: string }
  | { kind: 'launch-failed'; detail: string }
  /** The run was gone from the engine before it finished (which engine: the texts name its own thing). */
  | { kind: 'job-lost'; engine: EngineKind }
  /** The engine ended the run itself, without the workflow finishing (a WES server's SYSTEM_ERROR, say). */
  | { kind: 'engine-ended'; detail: string }
  /** The organizers' scorer ran on the output but gave no usable scores (a Docker-image evaluation). */
  | { kind: 'scoring-broken'; detail: string };

/** What the organizers are told about a pipeline problem, and the key that makes it one problem. */
export function pipelineProblem(
  outcome: Outcome,
  submissionId: string,
): { key: string; detail: string } | undefined {
  switch (outcome.kind) {
    case 'pull-failed':
      return { key: `pull:${outcome.image}`, detail: outcome.detail };
    case 'template-broken':
      return { key: `template:${outcome.templateEntityId}:${outcome.detail}`, detail: outcome.detail };
    case 'launch-failed':
      return { key: `launch:${submissionId}`, detail: outcome.detail };
    case 'engine-ended':
      return { key: `engine-ended:${submissionId}`, detail: outcome.detail };
    case 'scoring-broken':
      return {
        key: `scoring-broken:${submissionId}`,
        detail: `The scoring image ran but ${outcome.detail}.`,
      };
    case 'job-lost':
      return {
        key: `job-lost:${submissionId}`,
        detail:
          outcome.engine === 'wes'
            ? 'The WES server no longer knows the workflow run of this submission, which had not finished (its runs were removed, or its database was reset).'
            : "The workflow's container was gone before the job finished (removed by hand, or the Docker host was reset).",
      };
    default:
      return undefined;
  }
}

/** SWO's WorkflowUpdateStatus texts (swo-spec §2.8 D.5), one per ending. */
export function statusDescription(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'succeeded':
      return 'DONE';
    case 'stopped-on-request':
      return 'STOPPED UPON REQUEST';
    case 'timed-out':
      return 'EXCEEDED TIME QUOTA';
    case 'submission-failed':
      return outcome.timedOut ? 'EXCEEDED TIME QUOTA' : 'ERROR';
    case 'pull-failed':
      return 'DOCKER PULL FAILED';
    default:
      return 'ERROR';
  }
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit] ?? 'bytes'}`;
}

export function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, 'day');
  if (seconds % 3_600 === 0) return plural(seconds / 3_600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const EXIT_CODE_MEANINGS: Record<number, string> = {
  1: 'the workflow reported an error',
  2: 'the workflow engine rejected its command line or inputs',
  33: 'cwltool could not run the workflow (an invalid workflow, or a step image it could not get)',
  126: 'a command in the workflow could not be executed',
  127: 'a command in the workflow was not found',
  137: 'the workflow was killed (SIGKILL)',
  143: 'the workflow was terminated (SIGTERM)',
};

/** Why the submission failed, in words for the participant; undefined when it succeeded. */
export function failureReason(outcome: Outcome): string | undefined {
  switch (outcome.kind) {
    case 'succeeded':
      return undefined;
    case 'failed': {
      const meaning = EXIT_CODE_MEANINGS[outcome.exitCode];
      return `The workflow exited with code ${outcome.exitCode}${meaning === undefined ? '' : ` (${meaning})`}.`;
    }
    case 'out-of-memory':
      return outcome.limitBytes === undefined
        ? 'The workflow ran out of memory.'
        : `The workflow ran out of memory (limit ${formatBytes(outcome.limitBytes)}).`;
    case 'stopped-on-request':
      return 'Stopped on request: the submission was cancelled.';
    case 'timed-out':
      return outcome.by === 'time-remaining'
        ? 'Stopped: the time allowed for this submission ran out.'
        : `Stopped: it ran longer than the time limit of ${formatDuration(outcome.limitSeconds)}.`;
    case 'pull-failed':
      return `The workflow image ${outcome.image} could not be pulled (the organizers have been told).`;
    case 'template-broken':
      return 'The workflow template is broken (the organizers have been told).';
    case 'launch-failed':
      return 'The workflow could not be started (the organizers have been told).';
    case 'job-lost':
      return outcome.engine === 'wes'
        ? "The workflow's run disappeared from the WES server before it finished (the organizers have been told)."
        : "The workflow's container disappeared before it finished (the organizers have been told).";
    case 'submission-failed':
      return outcome.reason;
    case 'scoring-broken':
      return 'Your output could not be scored: the scorer gave no usable scores (the organizers have been told).';
    case 'engine-ended':
      return `The workflow engine ended the run before the workflow finished: ${outcome.detail} (the organizers have been told).`;
  }
}
