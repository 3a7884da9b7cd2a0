/**
 * What a person watching a submission wants to know, read from its status: is it waiting, running,
 * being cancelled or finished; how far along; and, when finished, the outcome, the reason and whatever
 * the workflow itself annotated (a score, say).
 */
import { ANNOTATIONS, readNumber, readString } from '../evaluation/annotations.js';
import type { StageStatuses } from '../evaluation/stages.js';
import type { SubmissionStatus } from '../synapse/types.js';

export type SubmissionPhase = 'waiting' | 'running' | 'cancelling' | 'finished';

export interface SubmissionView {
  id: string;
  status: string;
  phase: SubmissionPhase;
  /** 0..100, when the workflow reports it (/progress.txt). */
  progress: number | undefined;
  statusDescription: string | undefined;
  failureReason: string | undefined;
  /** Submission annotations the workflow set (not the orchestrator's own), as text. */
  workflowAnnotations: Record<string, string>;
  succeeded: boolean;
}

const ORCHESTRATOR_KEYS = new Set<string>(Object.values(ANNOTATIONS));

export function viewOf(status: SubmissionStatus, stage: StageStatuses): SubmissionView {
  const finished = status.status !== stage.waiting && status.status !== stage.running;
  const phase: SubmissionPhase = finished
    ? 'finished'
    : status.status === stage.waiting
      ? status.cancelRequested === true
        ? 'cancelling'
        : 'waiting'
      : status.cancelRequested === true
        ? 'cancelling'
        : 'running';
  const workflowAnnotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(status.submissionAnnotations?.annotations ?? {})) {
    if (!ORCHESTRATOR_KEYS.has(key)) workflowAnnotations[key] = value.value.join(', ');
  }
  return {
    id: status.id,
    status: status.status,
    phase,
    progress: readNumber(status, ANNOTATIONS.progress),
    statusDescription: readString(status, ANNOTATIONS.statusDescription),
    failureReason: readString(status, ANNOTATIONS.failureReason),
    workflowAnnotations,
    succeeded: status.status === stage.succeeded,
  };
}
