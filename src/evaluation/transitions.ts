/**
 * Every change this orchestrator makes to a submission's status, one named operation each, so the state
 * machine reads in one place:
 *
 *   waiting ──claim──▶ running ──recordStart──▶ running (started) ──heartbeat──▶ … ──finalize──▶ final
 *      │                  │
 *      │                  └─returnToQueue──▶ waiting (never launched here, or its instance went silent)
 *      └─cancelBeforeStart / refuseWaiting──▶ INVALID (nothing runs)
 *
 * Each is one guarded write: it applies only while the status is what the step expects (for a running
 * submission: running, this instance's, this job's), merges with annotations others wrote, and recognises
 * its own write when the answer to it was lost (a retried PUT meeting its own etag).
 */
import type { StatusAnnotation } from '../synapse/submission-status.js';
import type { SubmissionBundle, SubmissionStatus } from '../synapse/types.js';
import type { UpdateResult } from '../synapse/submission-status.js';
import {
  ANNOTATIONS,
  PER_RUN_ANNOTATIONS,
  doubleAnnotation,
  longAnnotation,
  readNumber,
  readString,
  stringAnnotation,
} from './annotations.js';
import type { Services } from './services.js';

/** Whether `status` is this instance's run of job `jobName`, still running. */
export function isRunningHere(svc: Services, status: SubmissionStatus, jobName: string | undefined): boolean {
  return (
    status.status === svc.stage.running &&
    readString(status, ANNOTATIONS.orchestratorId) === svc.config.orchestratorId &&
    (jobName === undefined || readString(status, ANNOTATIONS.workflowJobId) === jobName)
  );
}

/** The job of a status (its WorkflowJobId). */
export const jobOf = (status: SubmissionStatus): string | undefined =>
  readString(status, ANNOTATIONS.workflowJobId);

/** Takes a waiting submission for this instance, as job `jobName`. Only one instance's claim lands. */
export function claim(svc: Services, bundle: SubmissionBundle, jobName: string): Promise<UpdateResult> {
  const now = svc.now();
  return svc.client.evaluations.updateStatus(
    bundle.submission.id,
    {
      status: svc.stage.running,
      canCancel: true,
      cancelRequested: false,
      set: [
        stringAnnotation(ANNOTATIONS.workflowJobId, jobName),
        stringAnnotation(ANNOTATIONS.orchestratorId, svc.config.orchestratorId),
        longAnnotation(ANNOTATIONS.executionStarted, now, true),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, now),
      ],
      remove: [...PER_RUN_ANNOTATIONS],
    },
    {
      current: bundle.submissionStatus,
      precondition: (status) => status.status === svc.stage.waiting && status.cancelRequested !== true,
      landed: (status) => isRunningHere(svc, status, jobName),
    },
  );
}

/** A waiting submission whose submitter asked to cancel it: INVALID, nothing runs (swo-spec §2.3a). */
export function cancelBeforeStart(
  svc: Services,
  bundle: SubmissionBundle,
  now = svc.now(),
): Promise<UpdateResult> {
  return refuseWaiting(
    svc,
    bundle,
    'STOPPED UPON REQUEST',
    'Stopped on request: the submission was cancelled before it started.',
    now,
  );
}

/** Counts a final status written (the metrics), once it landed. */
async function counted(
  svc: Services,
  evaluationId: string,
  write: Promise<UpdateResult>,
): Promise<UpdateResult> {
  const result = await write;
  if (result.applied) {
    svc.metrics.submissionsFinished.inc({ queue: evaluationId, status: result.status.status });
  }
  return result;
}

/** A waiting submission that must not run (again): INVALID with the reason, without running anything. */
export function refuseWaiting(
  svc: Services,
  bundle: SubmissionBundle,
  description: string,
  reason: string,
  now = svc.now(),
): Promise<UpdateResult> {
  return counted(
    svc,
    bundle.submission.evaluationId,
    svc.client.evaluations.updateStatus(
      bundle.submission.id,
      {
        status: svc.stage.failed,
        canCancel: false,
        set: [
          stringAnnotation(ANNOTATIONS.statusDescription, description),
          stringAnnotation(ANNOTATIONS.failureReason, reason, !svc.config.results.shareImmediately),
          longAnnotation(ANNOTATIONS.workflowLastUpdated, now),
        ],
      },
      {
        current: bundle.submissionStatus,
        precondition: (status) => status.status === svc.stage.waiting,
        landed: (status) =>
          status.status === svc.stage.failed && readNumber(status, ANNOTATIONS.workflowLastUpdated) === now,
      },
    ),
  );
}

/**
 * The container runs: where its logs go, and that the "started" message is in the outbox. A job whose
 * status has the log folder is known to have started. `current`: the status as this process last wrote or
 * read it (the claim's answer), whose etag saves a read; a stale one costs the read after all (412).
 */
export function recordStart(
  svc: Services,
  submissionId: string,
  jobName: string,
  logFolderId: string,
  startedMessageQueued: boolean,
  current?: SubmissionStatus,
): Promise<UpdateResult> {
  return svc.client.evaluations.updateStatus(
    submissionId,
    {
      set: [
        stringAnnotation(ANNOTATIONS.submissionFolder, logFolderId),
        ...(startedMessageQueued ? [stringAnnotation(ANNOTATIONS.startedMessageSent, 'true', true)] : []),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, svc.now()),
      ],
    },
    {
      ...(current === undefined ? {} : { current }),
      precondition: (status) => isRunningHere(svc, status, jobName),
    },
  );
}

/** While it runs: progress, log uploads, and the time of this look (so other instances see it alive). */
export function heartbeat(
  svc: Services,
  bundle: SubmissionBundle,
  jobName: string,
  changes: StatusAnnotation[],
  progress: number | undefined,
): Promise<UpdateResult> {
  return svc.client.evaluations.updateStatus(
    bundle.submission.id,
    {
      set: [
        ...changes,
        longAnnotation(ANNOTATIONS.workflowLastUpdated, svc.now()),
        ...(progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, progress)]),
      ],
    },
    { current: bundle.submissionStatus, precondition: (status) => isRunningHere(svc, status, jobName) },
  );
}

export interface FinalStatus {
  status: SubmissionStatus['status'];
  description: string;
  /** FailureReason; private unless results are shared. Undefined removes an old one. */
  reason: string | undefined;
  progress?: number | undefined;
  logUploaded: boolean;
  logTruncated: boolean;
  /** The final message put in the outbox (SubmitterNotified), if one was. */
  notified: string | undefined;
  /** SubmissionFolder, when the run never recorded it (it stopped before) but its logs went there. */
  logFolderId?: string | undefined;
  /**
   * The run's status was set by someone else while it ran (the workflow itself): the final write keeps it
   * (`status` is that one) and finishes the rest as usual.
   */
  statusSetByOthers?: boolean;
  /** Scores the run produced (a Docker-image evaluation's scores.json), one annotation each. */
  scores?: Record<string, string | number | boolean> | undefined;
  /**
   * The status as this process last read or wrote it (this tick's listing, the claim's answer): its etag
   * saves a read. A stale one is refused (412), then the status is read again and the write merged onto it.
   */
  current?: SubmissionStatus | undefined;
}

/** A score as an annotation: whole numbers as longs, others as doubles, the rest as strings. */
function scoreAnnotation(
  key: string,
  value: string | number | boolean,
  isPrivate: boolean,
): StatusAnnotation {
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? longAnnotation(key, value, isPrivate)
      : doubleAnnotation(key, value, isPrivate);
  }
  return stringAnnotation(key, String(value), isPrivate);
}

/** The end: the final status of this job's run, written once and only by this job. */
export function finalize(
  svc: Services,
  submission: { id: string; evaluationId: string },
  jobName: string | undefined,
  final: FinalStatus,
): Promise<UpdateResult> {
  const now = svc.now();
  const shared = svc.config.results.shareImmediately;
  return counted(
    svc,
    submission.evaluationId,
    svc.client.evaluations.updateStatus(
      submission.id,
      {
        status: final.status,
        canCancel: false,
        set: [
          stringAnnotation(ANNOTATIONS.statusDescription, final.description),
          ...(final.logFolderId === undefined
            ? []
            : [stringAnnotation(ANNOTATIONS.submissionFolder, final.logFolderId)]),
          longAnnotation(ANNOTATIONS.workflowLastUpdated, now),
          // With locked results the reason stays private: it may say more than the participant should see.
          ...(final.reason === undefined
            ? []
            : [stringAnnotation(ANNOTATIONS.failureReason, final.reason, !shared)]),
          ...(final.progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, final.progress)]),
          ...(final.logUploaded ? [longAnnotation(ANNOTATIONS.lastLogUpload, now, true)] : []),
          ...(final.logTruncated ? [stringAnnotation(ANNOTATIONS.logFileSizeExceeded, 'true', true)] : []),
          ...(final.notified === undefined
            ? []
            : [stringAnnotation(ANNOTATIONS.submitterNotified, final.notified, true)]),
          // Private with locked results, as the reason: the organizers decide when scores are seen.
          ...Object.entries(final.scores ?? {}).map(([key, value]) => scoreAnnotation(key, value, !shared)),
        ],
        remove: final.reason === undefined ? [ANNOTATIONS.failureReason] : [],
      },
      {
        ...(final.current === undefined ? {} : { current: final.current }),
        // Someone (an admin re-queuing it, the workflow itself, another tool) changed it meanwhile: theirs stands.
        precondition: (status) =>
          final.statusSetByOthers === true
            ? status.status === final.status &&
              jobOf(status) === jobName &&
              readString(status, ANNOTATIONS.orchestratorId) === svc.config.orchestratorId
            : isRunningHere(svc, status, jobName),
        landed: (status) =>
          status.status === final.status &&
          (jobName === undefined || jobOf(status) === jobName) &&
          readNumber(status, ANNOTATIONS.workflowLastUpdated) === now,
      },
    ),
  );
}

/**
 * Back to the waiting status, for any instance to run: a claim whose job never got a container (the
 * orchestrator stopped in between), or a submission of an instance that went silent. What the run wrote
 * (job, instance, folder, …) is removed; the submission is then exactly as it was submitted.
 */
export function returnToQueue(
  svc: Services,
  submissionId: string,
  jobName: string,
  options: { anyInstance?: boolean; current?: SubmissionStatus } = {},
): Promise<UpdateResult> {
  const running = (status: SubmissionStatus) =>
    options.anyInstance === true
      ? status.status === svc.stage.running && jobOf(status) === jobName
      : isRunningHere(svc, status, jobName);
  return svc.client.evaluations.updateStatus(
    submissionId,
    {
      status: svc.stage.waiting,
      remove: [
        ...PER_RUN_ANNOTATIONS,
        ANNOTATIONS.workflowJobId,
        ANNOTATIONS.orchestratorId,
        ANNOTATIONS.executionStarted,
        ANNOTATIONS.workflowLastUpdated,
      ],
    },
    {
      ...(options.current === undefined ? {} : { current: options.current }),
      precondition: running,
      landed: (status) => status.status === svc.stage.waiting && jobOf(status) === undefined,
    },
  );
}
