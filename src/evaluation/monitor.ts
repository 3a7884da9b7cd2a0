/**
 * One look at a running submission: stop it when asked or out of time, finish it when its container
 * exited, otherwise record progress (and a heartbeat only when something changed or it went stale, so
 * the status is not rewritten every tick as SWO did).
 */
import type { JobState } from '../engine/interfaces.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle } from '../synapse/types.js';
import type { StatusAnnotation } from '../synapse/submission-status.js';
import {
  ANNOTATIONS,
  doubleAnnotation,
  longAnnotation,
  readNumber,
  readString,
  stringAnnotation,
} from './annotations.js';
import { ensureFollower, uploadJobLog } from './job-logs.js';
import type { RunContext } from './context.js';
import { sendStartedMessage, startedMessageState } from './started-message.js';
import { finishSubmission } from './finish.js';
import type { Outcome } from './outcome.js';

export type MonitorResult = 'running' | 'finished';

/** Why a running job must stop now, if it must. */
function stopReason(ctx: RunContext, bundle: SubmissionBundle): Outcome | undefined {
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
  ctx: RunContext,
  bundle: SubmissionBundle,
  state: Extract<JobState, { kind: 'exited' }>,
): Outcome {
  if (state.exitCode === 0) return { kind: 'succeeded' };
  // A stop decided earlier whose final write did not land: the reason still holds.
  const stop = stopReason(ctx, bundle);
  if (stop !== undefined) return stop;
  if (state.oomKilled) return { kind: 'out-of-memory', limitBytes: ctx.config.workflow.memoryBytes };
  return { kind: 'failed', exitCode: state.exitCode };
}

export async function monitorSubmission(ctx: RunContext, bundle: SubmissionBundle): Promise<MonitorResult> {
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
    ...(progressSoFar === undefined ? {} : { progress: progressSoFar }),
  };
  if (jobName === undefined) {
    await finishSubmission(ctx, job, { kind: 'job-lost' });
    return 'finished';
  }

  const state = await ctx.engine.state(jobName);
  if (state.kind === 'missing') {
    log.warn('The workflow container is gone', { job: jobName });
    await finishSubmission(ctx, job, { kind: 'job-lost' });
    return 'finished';
  }
  if (state.kind === 'exited') {
    await finishSubmission(ctx, job, exitOutcome(ctx, bundle, state));
    return 'finished';
  }

  const stop = stopReason(ctx, bundle);
  if (stop !== undefined) {
    log.info('Stopping the workflow', { job: jobName, reason: stop.kind });
    await ctx.engine.stop(jobName, ctx.stopGraceSeconds);
    await finishSubmission(ctx, job, stop);
    return 'finished';
  }

  ensureFollower(ctx, jobName);
  const changes: StatusAnnotation[] = [];

  // The "started" message, when it did not go out right after the start (still on its way, failed, or
  // this process was restarted): never awaited here, so Synapse's message pacing cannot hold up the tick.
  if (readString(status, ANNOTATIONS.startedMessageSent) !== 'true' && ctx.notifier.enabled('started')) {
    const state = startedMessageState(ctx, jobName);
    if (state === 'sent' || state === 'masked') {
      changes.push(stringAnnotation(ANNOTATIONS.startedMessageSent, 'true', true));
    } else if (state !== 'pending') {
      sendStartedMessage(
        ctx,
        jobName,
        { submission: bundle.submission, logFolderId },
        !ctx.startedHere.has(jobName),
      );
    }
  }

  // Logs: first as soon as there is output, then every LOG_UPLOAD_INTERVAL_SECONDS.
  const intervalMs = ctx.config.logs.uploadIntervalSeconds * 1000;
  const lastUpload = readNumber(status, ANNOTATIONS.lastLogUpload);
  const lastFailure = ctx.uploadFailedAt.get(jobName);
  const uploadDue =
    logFolderId !== undefined &&
    (lastUpload === undefined || ctx.now() - lastUpload >= intervalMs) &&
    (lastFailure === undefined || ctx.now() - lastFailure >= intervalMs);
  if (uploadDue) {
    try {
      const uploaded = await uploadJobLog(ctx, submissionId, jobName, logFolderId);
      ctx.uploadFailedAt.delete(jobName);
      if (uploaded !== undefined) {
        changes.push(longAnnotation(ANNOTATIONS.lastLogUpload, ctx.now(), true));
        if (uploaded.truncated) changes.push(stringAnnotation(ANNOTATIONS.logFileSizeExceeded, 'true', true));
        log.info('Uploaded the log so far', { job: jobName, truncated: uploaded.truncated });
      }
    } catch (error) {
      ctx.uploadFailedAt.set(jobName, ctx.now());
      log.warn('Could not upload the log; trying again at the next interval', {
        job: jobName,
        error: (error as Error).message,
      });
    }
  }

  const progress = state.kind === 'running' ? await ctx.engine.progress(jobName) : undefined;
  const lastUpdate = readNumber(status, ANNOTATIONS.workflowLastUpdated) ?? 0;
  const progressChanged = progress !== undefined && progress !== progressSoFar;
  const stale = ctx.now() - lastUpdate >= ctx.heartbeatSeconds * 1000;
  if (progressChanged || stale || changes.length > 0) {
    await ctx.client.evaluations.updateStatus(
      submissionId,
      {
        set: [
          ...changes,
          longAnnotation(ANNOTATIONS.workflowLastUpdated, ctx.now()),
          ...(progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, progress)]),
        ],
      },
      {
        current: status,
        precondition: (latest) => latest.status === ctx.stage.running,
      },
    );
    if (progressChanged) log.info('Progress', { job: jobName, progress });
  }
  return 'running';
}
