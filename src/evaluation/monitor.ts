/**
 * One look at a running submission: stop it when asked or out of time, finish it when its container
 * exited, otherwise record progress (and a heartbeat only when something changed or it went stale, so
 * the status is not rewritten every tick as SWO did).
 *
 * What a restart can leave, and what becomes of it:
 * - a claim whose container was never launched (no launch mark in its job directory): back to the queue,
 *   run from the start by any instance; a container created but never started: started now;
 * - a container that ran and is gone: lost (INVALID, with the reason, and the admin is told);
 * - a container that ended while the orchestrator was down: finished as usual, its output read again from
 *   the engine, the "started" message sent first if it never was.
 */
import type { JobState } from '../engine/interfaces.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle } from '../synapse/types.js';
import type { StatusAnnotation } from '../synapse/submission-status.js';
import { ANNOTATIONS, longAnnotation, readNumber, readString, stringAnnotation } from './annotations.js';
import { finishSubmission } from './finish.js';
import { JobDirectory } from './job-directory.js';
import { ensureFollower, logFolderOf, uploadJobLog } from './job-logs.js';
import type { JobTable } from './job-table.js';
import type { Outcome } from './outcome.js';
import type { Services } from './services.js';
import { backToQueue, markStarted } from './start.js';
import { heartbeat } from './transitions.js';

export type MonitorResult = 'running' | 'finished' | 'requeued';

/**
 * Progress is read at a job's first look, then at most this often. Reading it runs a command in the engine
 * container (docker exec), which costs the engine far more than a look at the container's state: at a
 * short POLL_INTERVAL_SECONDS, one per running job per tick kept the Docker engine busy enough to slow the
 * workflows themselves (bench/README.md, the overhead scenario). The default poll interval's length, so
 * that at the default nothing changes.
 */
export const PROGRESS_READ_INTERVAL_MS = 10_000;

/**
 * A running job's log is first uploaded once it has run (since its claim, `ExecutionStarted`) this long,
 * or `LOG_UPLOAD_INTERVAL_SECONDS` when that is shorter; then every interval, and at the end. A job that
 * ends sooner gets its final log only: one upload instead of two (each a multipart upload, a new version
 * of the log file and a status write), and the log a participant finds is the whole one, seconds after a
 * "log so far" would have been. SWO uploaded at its first look (about 10 s in); a job running longer than
 * this still has its log in its folder within a minute.
 */
export const FIRST_LOG_UPLOAD_AFTER_MS = 30_000;

/** Why a running job must stop now, if it must. */
function stopReason(ctx: Services, bundle: SubmissionBundle): Outcome | undefined {
  const status = bundle.submissionStatus;
  if (status.cancelRequested === true) return { kind: 'stopped-on-request' };
  const remaining = readNumber(status, ANNOTATIONS.timeRemaining);
  if (remaining !== undefined && remaining <= 0) return { kind: 'timed-out', by: 'time-remaining' };
  const started = readNumber(status, ANNOTATIONS.executionStarted);
  const limit = ctx.config.workflow.maxRuntimeSeconds;
  if (started !== undefined && ctx.now() - started > limit * 1000) {
    return { kind: 'timed-out', by: 'max-runtime', limitSeconds: limit };
  }
  return undefined;
}

/** The ending of a container that exited by itself (or was stopped by an earlier tick). */
function exitOutcome(
  ctx: Services,
  bundle: SubmissionBundle,
  state: Extract<JobState, { kind: 'exited' }>,
): Outcome {
  if (state.exitCode === 0) {
    return state.results === undefined
      ? { kind: 'succeeded' }
      : { kind: 'succeeded', results: state.results };
  }
  // A stop decided earlier whose final write did not land: the reason still holds.
  const stop = stopReason(ctx, bundle);
  if (stop !== undefined) return stop;
  // The engine's own account comes first: it knows its limits (a Docker-image evaluation's memory limit is
  // the evaluation file's, not WORKFLOW_MEMORY_LIMIT).
  if (state.submissionFailure !== undefined) return { kind: 'submission-failed', ...state.submissionFailure };
  if (state.scoringProblem !== undefined) return { kind: 'scoring-broken', detail: state.scoringProblem };
  if (state.oomKilled) return { kind: 'out-of-memory', limitBytes: ctx.config.workflow.memoryBytes };
  if (state.engineEnded !== undefined) return { kind: 'engine-ended', detail: state.engineEnded };
  return { kind: 'failed', exitCode: state.exitCode };
}

export async function monitorSubmission(
  ctx: Services,
  jobs: JobTable,
  bundle: SubmissionBundle,
): Promise<MonitorResult> {
  const { id: submissionId, evaluationId } = bundle.submission;
  const log = submissionLogger(ctx.logger, { submissionId, evaluationId });
  const status = bundle.submissionStatus;
  const jobName = readString(status, ANNOTATIONS.workflowJobId);
  const logFolderId = readString(status, ANNOTATIONS.submissionFolder);
  const progressSoFar = readNumber(status, ANNOTATIONS.progress);
  const job = {
    submission: bundle.submission,
    jobName,
    logFolderId,
    launched: true,
    // Read this tick: the final write uses its etag instead of reading the status again.
    status,
    ...(progressSoFar === undefined ? {} : { progress: progressSoFar }),
  };
  if (jobName === undefined) {
    await finishSubmission(
      ctx,
      jobs,
      { ...job, launched: false },
      {
        kind: 'job-lost',
        engine: ctx.engine.kind,
      },
    );
    return 'finished';
  }

  const state = await ctx.engine.state(jobName);
  if (state.kind === 'missing') {
    if (!(await JobDirectory.of(ctx.jobRoot, jobName).wasLaunched())) {
      log.warn(
        'The submission was claimed but its workflow was never launched (the orchestrator stopped in between)',
        {
          job: jobName,
        },
      );
      return (await backToQueue(ctx, jobs, bundle.submission, jobName)) ? 'requeued' : 'finished';
    }
    log.warn(
      ctx.engine.kind === 'wes'
        ? 'The workflow run is gone from the WES server'
        : 'The workflow container is gone',
      {
        job: jobName,
      },
    );
    await finishSubmission(ctx, jobs, job, { kind: 'job-lost', engine: ctx.engine.kind });
    return 'finished';
  }
  if (state.kind === 'pending' && state.neverStarted) {
    // The process or the engine stopped between creating and starting it: its job directory is complete,
    // so it is started now (one container, one run); if that fails, back to the queue.
    log.warn('The workflow container was created but never started; starting it now', { job: jobName });
    try {
      await ctx.engine.startCreated(jobName);
      await JobDirectory.of(ctx.jobRoot, jobName).markLaunched();
      return 'running';
    } catch (error) {
      log.warn('Could not start it; the submission goes back to the queue', {
        job: jobName,
        error: (error as Error).message,
      });
      return (await backToQueue(ctx, jobs, bundle.submission, jobName)) ? 'requeued' : 'finished';
    }
  }
  if (state.kind === 'exited') {
    await finishSubmission(ctx, jobs, job, exitOutcome(ctx, bundle, state));
    return 'finished';
  }

  const stop = stopReason(ctx, bundle);
  if (stop !== undefined) {
    log.info('Stopping the workflow', { job: jobName, reason: stop.kind });
    await ctx.engine.stop(jobName, ctx.stopGraceSeconds);
    await finishSubmission(ctx, jobs, job, stop);
    return 'finished';
  }

  const record = jobs.record(jobName, submissionId);
  ensureFollower(ctx, record);

  // The start was not recorded (the orchestrator stopped right after launching, or the write failed).
  if (logFolderId === undefined) {
    const folders = await ctx.folders.forSubmission(
      bundle.submission.teamId ?? bundle.submission.userId,
      submissionId,
    );
    await markStarted(ctx, bundle.submission, jobName, logFolderOf(ctx, folders), status);
    return 'running';
  }

  const changes: StatusAnnotation[] = [];
  // Logs: first once the job has run FIRST_LOG_UPLOAD_AFTER_MS (or the interval, when shorter), then every
  // LOG_UPLOAD_INTERVAL_SECONDS; a job that ends sooner gets its final log only.
  const intervalMs = ctx.config.logs.uploadIntervalSeconds * 1000;
  const lastUpload = readNumber(status, ANNOTATIONS.lastLogUpload);
  const lastFailure = record.uploadFailedAt;
  const claimedAt = readNumber(status, ANNOTATIONS.executionStarted);
  const uploadDue =
    (lastUpload === undefined
      ? claimedAt === undefined || ctx.now() - claimedAt >= Math.min(intervalMs, FIRST_LOG_UPLOAD_AFTER_MS)
      : ctx.now() - lastUpload >= intervalMs) &&
    (lastFailure === undefined || ctx.now() - lastFailure >= intervalMs);
  if (uploadDue) {
    try {
      const uploaded = await uploadJobLog(ctx, submissionId, jobName, logFolderId, record);
      delete record.uploadFailedAt;
      if (uploaded !== undefined) {
        changes.push(longAnnotation(ANNOTATIONS.lastLogUpload, ctx.now(), true));
        if (uploaded.truncated) changes.push(stringAnnotation(ANNOTATIONS.logFileSizeExceeded, 'true', true));
        log.info('Uploaded the log so far', { job: jobName, truncated: uploaded.truncated });
      }
    } catch (error) {
      record.uploadFailedAt = ctx.now();
      log.warn('Could not upload the log; trying again at the next interval', {
        job: jobName,
        error: (error as Error).message,
      });
    }
  }

  const progressDue =
    record.progressReadAt === undefined || ctx.now() - record.progressReadAt >= PROGRESS_READ_INTERVAL_MS;
  let progress: number | undefined;
  if (state.kind === 'running' && progressDue) {
    record.progressReadAt = ctx.now();
    progress = await ctx.engine.progress(jobName);
  }
  const lastUpdate = readNumber(status, ANNOTATIONS.workflowLastUpdated) ?? 0;
  const progressChanged = progress !== undefined && progress !== progressSoFar;
  const stale = ctx.now() - lastUpdate >= ctx.heartbeatSeconds * 1000;
  if (progressChanged || stale || changes.length > 0) {
    await heartbeat(ctx, bundle, jobName, changes, progress);
    if (progressChanged) log.info('Progress', { job: jobName, progress });
  }
  return 'running';
}
