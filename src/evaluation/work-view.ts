/**
 * What this instance is doing, as the status endpoints show it (GET /status.json, `status`, the status
 * page, the running and waiting gauges): the evaluations it runs, and how many submissions wait in each
 * queue. It is filled in by the tick from what the tick reads anyway (the queue listings and the starts it
 * makes), so a request for the status never costs a platform call; it is as fresh as the last tick.
 *
 * Submitter aliases (team names) are the participants' own words: whoever shows them must escape them.
 */
import type { SubmissionBundle } from '../synapse/types.js';
import { ANNOTATIONS, readNumber, readString } from './annotations.js';

export type RunState = 'starting' | 'running' | 'cancel requested' | 'finishing';

export interface RunningEvaluation {
  submissionId: string;
  /** The queue (evaluation id). */
  evaluationId: string;
  /** The participant or team: ids, and the team's name when the platform gave one (participant-chosen). */
  submitter: { userId: string; teamId?: string; alias?: string };
  state: RunState;
  /** When its run began here (ExecutionStarted), in ms since the epoch. */
  startedAt?: number;
  /** The workflow's own progress, 0-100, when it reports one. */
  progress?: number;
  /** The workflow container's name. */
  container?: string;
  /** When its log was last uploaded. */
  lastLogUploadAt?: number;
  /** When this instance last wrote its status (WorkflowLastUpdated). */
  lastUpdatedAt?: number;
}

export interface QueueView {
  evaluationId: string;
  /** Submissions waiting (RECEIVED) when the intake last listed the queue; undefined before that. */
  waiting?: number;
  /** When that was. */
  waitingSeenAt?: number;
  /** Why the last listing of the queue failed, when it did. */
  listingError?: string;
}

function submitterOf(bundle: SubmissionBundle): RunningEvaluation['submitter'] {
  const { userId, teamId, submitterAlias } = bundle.submission;
  return {
    userId,
    ...(teamId === undefined ? {} : { teamId }),
    ...(submitterAlias === undefined ? {} : { alias: submitterAlias }),
  };
}

export class WorkView {
  private readonly rows = new Map<string, RunningEvaluation>();
  private readonly queueViews = new Map<string, QueueView>();

  constructor(
    queues: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    for (const evaluationId of queues) this.queueViews.set(evaluationId, { evaluationId });
  }

  /** The intake listed a queue: this many submissions wait in it. */
  sawWaiting(evaluationId: string, count: number): void {
    this.queueViews.set(evaluationId, { evaluationId, waiting: count, waitingSeenAt: this.now() });
  }

  /** The intake could not list a queue; the last count stays, with the error. */
  listingFailed(evaluationId: string, error: string): void {
    const previous = this.queueViews.get(evaluationId) ?? { evaluationId };
    this.queueViews.set(evaluationId, { ...previous, listingError: error });
  }

  /** A start begins (claim, job directory, image, container). */
  starting(bundle: SubmissionBundle): void {
    this.rows.set(bundle.submission.id, {
      submissionId: bundle.submission.id,
      evaluationId: bundle.submission.evaluationId,
      submitter: submitterOf(bundle),
      state: 'starting',
    });
  }

  /** A start ended: the workflow runs, or nothing runs (taken by another instance, failed, cancelled). */
  startEnded(submissionId: string, running: boolean): void {
    const row = this.rows.get(submissionId);
    if (row === undefined || row.state !== 'starting') return;
    if (running) this.rows.set(submissionId, { ...row, state: 'running', startedAt: this.now() });
    else this.rows.delete(submissionId);
  }

  /**
   * This instance's running submissions of one queue, as just listed: they replace what was known of the
   * queue (starts under way stay). `busy` says whether an update of a job from an earlier tick (a stop, a
   * final upload, a final message) is still going on.
   */
  sawRunning(
    evaluationId: string,
    bundles: readonly SubmissionBundle[],
    busy: (job: string) => boolean,
  ): void {
    for (const [id, row] of this.rows) {
      if (row.evaluationId === evaluationId && row.state !== 'starting') this.rows.delete(id);
    }
    for (const bundle of bundles) {
      const status = bundle.submissionStatus;
      const container = readString(status, ANNOTATIONS.workflowJobId);
      const startedAt = readNumber(status, ANNOTATIONS.executionStarted);
      const progress = readNumber(status, ANNOTATIONS.progress);
      const lastLogUploadAt = readNumber(status, ANNOTATIONS.lastLogUpload);
      const lastUpdatedAt = readNumber(status, ANNOTATIONS.workflowLastUpdated);
      const state: RunState =
        container !== undefined && busy(container)
          ? 'finishing'
          : status.cancelRequested === true
            ? 'cancel requested'
            : 'running';
      this.rows.set(bundle.submission.id, {
        submissionId: bundle.submission.id,
        evaluationId: bundle.submission.evaluationId,
        submitter: submitterOf(bundle),
        state,
        ...(startedAt === undefined ? {} : { startedAt }),
        ...(progress === undefined ? {} : { progress }),
        ...(container === undefined ? {} : { container }),
        ...(lastLogUploadAt === undefined ? {} : { lastLogUploadAt }),
        ...(lastUpdatedAt === undefined ? {} : { lastUpdatedAt }),
      });
    }
  }

  /** The submission's run here is over (final status written, or back in the queue). */
  ended(submissionId: string): void {
    this.rows.delete(submissionId);
  }

  running(): RunningEvaluation[] {
    return [...this.rows.values()].sort(
      (a, b) => (a.startedAt ?? Number.MAX_SAFE_INTEGER) - (b.startedAt ?? Number.MAX_SAFE_INTEGER),
    );
  }

  queues(): QueueView[] {
    return [...this.queueViews.values()];
  }

  runningByQueue(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const evaluationId of this.queueViews.keys()) counts.set(evaluationId, 0);
    for (const row of this.rows.values()) {
      counts.set(row.evaluationId, (counts.get(row.evaluationId) ?? 0) + 1);
    }
    return counts;
  }

  waitingByQueue(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const view of this.queueViews.values()) {
      if (view.waiting !== undefined) counts.set(view.evaluationId, view.waiting);
    }
    return counts;
  }
}
