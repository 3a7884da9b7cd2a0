/**
 * The submission annotations the orchestrator owns: SWO's names, types and privacy (swo-spec Appendix A),
 * so existing dashboards keep working, plus this project's OrchestratorId.
 */
import type { StatusAnnotation } from '../synapse/submission-status.js';
import type { SubmissionStatus } from '../synapse/types.js';

const PREFIX = 'orgSagebionetworksSynapseWorkflowOrchestrator';

export const ANNOTATIONS = {
  workflowJobId: `${PREFIX}WorkflowJobId`,
  executionStarted: `${PREFIX}ExecutionStarted`,
  workflowLastUpdated: `${PREFIX}WorkflowLastUpdated`,
  statusDescription: `${PREFIX}StatusDescription`,
  failureReason: `${PREFIX}FailureReason`,
  submissionFolder: `${PREFIX}SubmissionFolder`,
  lastLogUpload: `${PREFIX}LastLogUpload`,
  startedMessageSent: `${PREFIX}SubmissionProcessingStartedSent`,
  progress: `${PREFIX}Progress`,
  timeRemaining: `${PREFIX}TimeRemaining`,
  logFileSizeExceeded: `${PREFIX}LogFileSizeExceeded`,
  /** New: which final message the participant got (completed, failed, stopped, timed-out). */
  submitterNotified: `${PREFIX}SubmitterNotified`,
  /** New: which instance runs the submission, so instances sharing a queue leave each other's alone. */
  orchestratorId: `${PREFIX}OrchestratorId`,
} as const;

/** Left over from an earlier run of the same submission; cleared when it is claimed again (SWO kept them). */
export const PER_RUN_ANNOTATIONS: readonly string[] = [
  ANNOTATIONS.failureReason,
  ANNOTATIONS.statusDescription,
  ANNOTATIONS.submissionFolder,
  ANNOTATIONS.lastLogUpload,
  ANNOTATIONS.startedMessageSent,
  ANNOTATIONS.progress,
  ANNOTATIONS.logFileSizeExceeded,
  ANNOTATIONS.submitterNotified,
];

export const stringAnnotation = (key: string, value: string, isPrivate = false): StatusAnnotation => ({
  key,
  type: 'STRING',
  value,
  isPrivate,
});

export const longAnnotation = (key: string, value: number, isPrivate = false): StatusAnnotation => ({
  key,
  type: 'LONG',
  value,
  isPrivate,
});

export const doubleAnnotation = (key: string, value: number, isPrivate = false): StatusAnnotation => ({
  key,
  type: 'DOUBLE',
  value,
  isPrivate,
});

/** A STRING annotation's value, from v1 (where private ones live) or else v2. */
export function readString(status: SubmissionStatus, key: string): string | undefined {
  const v1 = status.annotations?.stringAnnos?.find((a) => a.key === key);
  if (v1 !== undefined) return v1.value;
  const v2 = status.submissionAnnotations?.annotations[key];
  return v2 === undefined ? undefined : v2.value[0];
}

/** A numeric annotation's value from v1 (LONG or DOUBLE) or v2 (any numeric type); SWO read v1 LONG only. */
export function readNumber(status: SubmissionStatus, key: string): number | undefined {
  const v1 =
    status.annotations?.longAnnos?.find((a) => a.key === key) ??
    status.annotations?.doubleAnnos?.find((a) => a.key === key);
  if (v1 !== undefined) return v1.value;
  const v2 = status.submissionAnnotations?.annotations[key];
  const first = v2?.value[0];
  if (first === undefined) return undefined;
  const value = Number(first);
  return Number.isFinite(value) ? value : undefined;
}
