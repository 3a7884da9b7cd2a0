/**
 * The end of a submission's run, in the order a participant must see it: the final logs, then the message,
 * then the final status; then nothing of the job left behind.
 *
 * The engine container is stopped before this is called (nothing of the job runs). Its last output is
 * followed to the end and uploaded; the final status is written while the stopped container still exists
 * (if the write fails, the next tick sees the container again and finishes the job then); only then are
 * the containers and the job directory removed. The credentials file goes in every case.
 */
import { submissionLogger } from '../logging/logger.js';
import type { Submission } from '../synapse/types.js';
import { ANNOTATIONS, doubleAnnotation, longAnnotation, stringAnnotation } from './annotations.js';
import type { RunContext } from './context.js';
import { readRecordedErrorAnnotations } from './earlier-errors.js';
import { findStepErrors, reasonWithStepError, type StepErrors } from './failure-reason.js';
import { forgetStartedMessage, startedMessageSettled } from './started-message.js';
import { JobDirectory } from './job-directory.js';
import { finishFollowing, keepUnuploadedLog, keptLogOf, logPathOf, uploadJobLog } from './job-logs.js';
import { readLogTail } from './logs/tail.js';
import { messageKindFor } from './notifications.js';
import { failureReason, pipelineProblem, statusDescription, type Outcome } from './outcome.js';
import { reportUnuploadedLog } from './unuploaded-log-alert.js';

export interface FinishingJob {
  submission: Submission;
  /** Container name (WorkflowJobId); undefined when the job never got one. */
  jobName: string | undefined;
  /** Where the logs go (SubmissionFolder); undefined when the job never got that far. */
  logFolderId: string | undefined;
  progress?: number;
}

export async function finishSubmission(
  ctx: RunContext,
  job: FinishingJob,
  outcome: Outcome,
): Promise<boolean> {
  const { submission } = job;
  const log = submissionLogger(ctx.logger, {
    submissionId: submission.id,
    evaluationId: submission.evaluationId,
  });
  const succeeded = outcome.kind === 'succeeded';
  const shared = ctx.config.results.shareImmediately;
  const finalStatus = succeeded ? ctx.stage.succeeded : ctx.stage.failed;
  // A finish retried after an earlier attempt kept the log (its upload failed): that log is the one to read.
  const kept = job.jobName === undefined ? undefined : await keptLogOf(ctx, job.jobName, submission.id);
  const logPath = job.jobName === undefined ? undefined : (kept?.local ?? logPathOf(ctx, job.jobName));

  // 1. The final logs, after the container's last line (not again once kept: the organizers were told).
  let truncated = false;
  let uploaded = false;
  let uploadError: unknown;
  if (job.jobName !== undefined) {
    await finishFollowing(ctx, job.jobName);
    if (kept !== undefined) {
      log.warn('The final log was kept earlier, after its upload failed; not uploading it again', {
        path: kept.host,
      });
    } else if (job.logFolderId !== undefined) {
      try {
        const result = await uploadJobLog(ctx, submission.id, job.jobName, job.logFolderId);
        uploaded = result !== undefined;
        truncated = result?.truncated ?? false;
      } catch (error) {
        log.error('Could not upload the final log', { error: (error as Error).message });
        uploadError = error;
      }
    }
  }

  // The failing step's own words (an error annotation it wrote, else its last output), for the reason.
  let stepErrors: StepErrors = {};
  if (outcome.kind === 'failed') {
    // Error annotations unchanged since the claim are an earlier run's (a re-queued submission).
    const earlier =
      job.jobName === undefined
        ? undefined
        : await readRecordedErrorAnnotations(JobDirectory.of(ctx.jobRoot, job.jobName));
    stepErrors = await findStepErrors(ctx.client, submission.id, logPath, shared, log, earlier);
    const found = stepErrors.inReason ?? stepErrors.inMessage;
    if (found !== undefined) {
      log.info("Found the workflow's own error", {
        source: found.source,
        ...(found.source === 'annotation' ? { annotation: found.name } : { step: found.step ?? '(unnamed)' }),
        quotedIn: [
          ...(stepErrors.inReason === undefined ? [] : ['FailureReason']),
          ...(stepErrors.inMessage === undefined ? [] : ['message']),
        ],
      });
    }
  }
  const generalReason = failureReason(outcome);
  const reason =
    generalReason === undefined ? undefined : reasonWithStepError(generalReason, stepErrors.inReason);

  // 2. The participant's message (once, even when this final step is retried).
  const kind = messageKindFor(outcome);
  let notified = false;
  if (!ctx.finalMessageSent.has(submission.id)) {
    // The "started" message, if still on its way, goes first: nobody should read "finished" before "started".
    if (job.jobName !== undefined) await startedMessageSettled(ctx, job.jobName);
    try {
      const logTail =
        shared && logPath !== undefined && stepErrors.inMessage === undefined
          ? await readLogTail(logPath)
          : undefined;
      const checkOutbox = job.jobName === undefined || !ctx.startedHere.has(job.jobName);
      const result = await ctx.notifier.send(
        kind,
        {
          submission,
          logFolderId: job.logFolderId,
          outcome,
          logTail,
          stepError: stepErrors.inMessage,
          finalStatus,
        },
        checkOutbox,
      );
      notified = result !== 'masked';
      ctx.finalMessageSent.add(submission.id);
    } catch (error) {
      log.error('Could not tell the participant how the submission ended', {
        error: (error as Error).message,
      });
    }
  }

  // 3. The final status.
  const now = ctx.now();
  const result = await ctx.client.evaluations.updateStatus(
    submission.id,
    {
      status: finalStatus,
      canCancel: false,
      set: [
        stringAnnotation(ANNOTATIONS.statusDescription, statusDescription(outcome)),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, now),
        // With locked results the reason stays private: it may say more than the participant should see.
        ...(reason === undefined ? [] : [stringAnnotation(ANNOTATIONS.failureReason, reason, !shared)]),
        ...(job.progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, job.progress)]),
        ...(uploaded ? [longAnnotation(ANNOTATIONS.lastLogUpload, now, true)] : []),
        ...(truncated ? [stringAnnotation(ANNOTATIONS.logFileSizeExceeded, 'true', true)] : []),
        ...(notified ? [stringAnnotation(ANNOTATIONS.submitterNotified, kind, true)] : []),
      ],
      remove: reason === undefined ? [ANNOTATIONS.failureReason] : [],
    },
    // Someone (an admin re-queuing it, another tool) changed the status meanwhile: theirs stands.
    { precondition: (status) => status.status === ctx.stage.running },
  );
  if (result.applied) {
    log.info('Submission finished', {
      status: result.status.status,
      outcome: outcome.kind,
      ...(reason === undefined ? {} : { reason }),
    });
  } else {
    log.warn('Submission changed status while it ran; left its status alone', {
      status: result.status.status,
      outcome: outcome.kind,
    });
  }

  // 4. Nothing of the job left behind, except a log that could not be uploaded: that is kept, and the
  // organizers are told where (after the final status, so a finish retried before this uploads and
  // reports again; one retried after it finds the log kept, above, and leaves it there).
  if (uploadError !== undefined && job.jobName !== undefined && job.logFolderId !== undefined) {
    const keptAt = await keepUnuploadedLog(ctx, job.jobName, submission.id);
    await reportUnuploadedLog(ctx, submission, job.logFolderId, uploadError, keptAt);
  }
  await cleanUpJob(ctx, job.jobName, !succeeded);
  ctx.finalMessageSent.delete(submission.id);

  const problem = pipelineProblem(outcome, submission.id);
  if (problem !== undefined) {
    ctx.alerts.report({
      key: problem.key,
      subject: 'Submission Pipeline Failed',
      submissionId: submission.id,
      body: [
        `Submission ${submission.id} in evaluation queue ${submission.evaluationId} ended ${ctx.stage.failed}.`,
        `What went wrong: ${problem.detail}`,
        `What the participant was told: ${reason ?? ''}`,
        ...(job.jobName === undefined ? [] : [`Workflow job: ${job.jobName}`]),
      ].join('\n'),
    });
  }
  return result.applied;
}

/** Removes the job's containers (engine and steps) and its directory; keeps a failed job's when configured. */
export async function cleanUpJob(
  ctx: RunContext,
  jobName: string | undefined,
  failed: boolean,
): Promise<void> {
  if (jobName === undefined) return;
  ctx.followers.get(jobName)?.follower.stop();
  ctx.followers.delete(jobName);
  ctx.startedHere.delete(jobName);
  forgetStartedMessage(ctx, jobName);
  ctx.uploadFailedAt.delete(jobName);
  const directory = JobDirectory.of(ctx.jobRoot, jobName);
  await ctx.engine.remove(jobName, directory.hostPath);
  await directory.removeCredentials();
  if (!(failed && ctx.config.workflow.keepFailedJobDirs)) await directory.remove();
}
