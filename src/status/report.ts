/**
 * What GET /status.json answers (and `status`, and the status page, show): this instance's running
 * evaluations, whether it is draining and why, what waits in each queue, its messages still to send and
 * whether its loop is healthy. Built from what the daemon already holds; no platform call, no secret.
 * Times are ISO strings; `elapsedSeconds` is as of `generatedAt`.
 */
import type { QueueView, RunningEvaluation, RunState } from '../evaluation/work-view.js';
import type { LoopHealth } from './loop-health.js';

export interface RunningRow {
  submissionId: string;
  evaluationId: string;
  /** The team's name (participant-chosen: escape it), else "team <id>" or "user <id>". */
  submitter: string;
  userId: string;
  teamId?: string;
  state: RunState;
  startedAt?: string;
  elapsedSeconds?: number;
  progress?: number;
  container?: string;
  lastLogUploadAt?: string;
}

export interface QueueRow {
  evaluationId: string;
  running: number;
  /** Waiting (RECEIVED) when last listed by the intake; null before the first listing. */
  waiting: number | null;
  waitingSeenAt: string | null;
  listingError?: string;
}

export interface StatusReport {
  orchestratorId: string;
  version: string;
  generatedAt: string;
  health: Pick<LoopHealth, 'healthy' | 'state' | 'reason'>;
  /** Why nothing new starts, or null when it takes new submissions. */
  draining: string | null;
  stopping: boolean;
  maxConcurrent: number;
  lastTickAt: string | null;
  running: RunningRow[];
  queues: QueueRow[];
  /** Messages still to send: ready to go, held until their final status lands, given up on. */
  messages: { ready: number; held: number; failed: number };
}

export interface ReportInput {
  orchestratorId: string;
  version: string;
  now: number;
  health: LoopHealth;
  draining: string | undefined;
  stopping: boolean;
  maxConcurrent: number;
  lastTickAt: number | undefined;
  running: readonly RunningEvaluation[];
  queues: readonly QueueView[];
  outbox: Readonly<Record<string, number>>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function submitterLabel(submitter: RunningEvaluation['submitter']): string {
  if (submitter.alias !== undefined && submitter.alias !== '') return submitter.alias;
  return submitter.teamId === undefined ? `user ${submitter.userId}` : `team ${submitter.teamId}`;
}

export function buildStatusReport(input: ReportInput): StatusReport {
  const running = input.running.map((row): RunningRow => ({
    submissionId: row.submissionId,
    evaluationId: row.evaluationId,
    submitter: submitterLabel(row.submitter),
    userId: row.submitter.userId,
    ...(row.submitter.teamId === undefined ? {} : { teamId: row.submitter.teamId }),
    state: row.state,
    ...(row.startedAt === undefined
      ? {}
      : {
          startedAt: iso(row.startedAt),
          elapsedSeconds: Math.max(0, Math.round((input.now - row.startedAt) / 1000)),
        }),
    ...(row.progress === undefined ? {} : { progress: row.progress }),
    ...(row.container === undefined ? {} : { container: row.container }),
    ...(row.lastLogUploadAt === undefined ? {} : { lastLogUploadAt: iso(row.lastLogUploadAt) }),
  }));
  const queues = input.queues.map((queue): QueueRow => ({
    evaluationId: queue.evaluationId,
    running: running.filter((r) => r.evaluationId === queue.evaluationId).length,
    waiting: queue.waiting ?? null,
    waitingSeenAt: queue.waitingSeenAt === undefined ? null : iso(queue.waitingSeenAt),
    ...(queue.listingError === undefined ? {} : { listingError: queue.listingError }),
  }));
  return {
    orchestratorId: input.orchestratorId,
    version: input.version,
    generatedAt: iso(input.now),
    health: {
      healthy: input.health.healthy,
      state: input.health.state,
      ...(input.health.reason === undefined ? {} : { reason: input.health.reason }),
    },
    draining: input.draining ?? null,
    stopping: input.stopping,
    maxConcurrent: input.maxConcurrent,
    lastTickAt: input.lastTickAt === undefined ? null : iso(input.lastTickAt),
    running,
    queues,
    messages: {
      ready: input.outbox.ready ?? 0,
      held: input.outbox.held ?? 0,
      failed: input.outbox.failed ?? 0,
    },
  };
}
