/**
 * One look at a running submission: stop it when asked or out of time, finish it when its container
 * exited, otherwise record progress (and a heartbeat only when something changed or it went stale, so
 * the status is not rewritten every tick as SWO did).
 */
import type { JobState } from '../engine/interfaces.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle } from '../synapse/types.js';
import { ANNOTATIONS, doubleAnnotation, longAnnotation, readNumber, readString } from './annotations.js';
import type { RunContext } from './context.js';
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
  const jobName = readString(bundle.submissionStatus, ANNOTATIONS.workflowJobId);
  const job = { submissionId, evaluationId, jobName };
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

  const progress = state.kind === 'running' ? await ctx.engine.progress(jobName) : undefined;
  const lastProgress = readNumber(bundle.submissionStatus, ANNOTATIONS.progress);
  const lastUpdate = readNumber(bundle.submissionStatus, ANNOTATIONS.workflowLastUpdated) ?? 0;
  const progressChanged = progress !== undefined && progress !== lastProgress;
  const stale = ctx.now() - lastUpdate >= ctx.heartbeatSeconds * 1000;
  if (progressChanged || stale) {
    await ctx.client.evaluations.updateStatus(
      submissionId,
      {
        set: [
          longAnnotation(ANNOTATIONS.workflowLastUpdated, ctx.now()),
          ...(progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, progress)]),
        ],
      },
      {
        current: bundle.submissionStatus,
        precondition: (status) => status.status === ctx.stage.running,
      },
    );
    if (progressChanged) log.info('Progress', { job: jobName, progress });
  }
  return 'running';
}
