/**
 * The end of a submission's run, in the order a participant must see it: the final logs, then the final
 * status, then the message; then nothing of the job left behind.
 *
 * The engine container is stopped before this is called (nothing of the job runs). Its last output is
 * followed to the end (read again from the engine when this process was not following it: a container
 * that ended while the orchestrator was down) and uploaded. The final message goes into the outbox held,
 * the final status is written while the stopped container still exists (if the write fails, the next
 * tick sees the container again and finishes the job then), and only when that write landed is the
 * message released (the outbox sends it once, however long Synapse's pacing makes it wait). Then the
 * containers and the job directory are removed. The credentials file goes in every case.
 */
import { basename } from 'node:path';
import type { RunResults } from '../engine/interfaces.js';
import { submissionLogger } from '../logging/logger.js';
import type { Submission, SubmissionStatus, SubmissionStatusEnum } from '../synapse/types.js';
import { readRecordedErrorAnnotations } from './earlier-errors.js';
import { findStepErrors, reasonWithStepError, type StepErrors } from './failure-reason.js';
import { JobDirectory } from './job-directory.js';
import {
  finishFollowing,
  keepUnuploadedLog,
  keptLogOf,
  logFolderOf,
  logPathOf,
  uploadJobLog,
} from './job-logs.js';
import type { JobTable } from './job-table.js';
import { readLogTail } from './logs/tail.js';
import { finalKey, holdFinalMessage, queueStartedMessage } from './messages.js';
import { messageKindFor } from './notifications.js';
import { failureReason, pipelineProblem, statusDescription, type Outcome } from './outcome.js';
import type { Services } from './services.js';
import { finalize } from './transitions.js';
import { reportUnuploadedLog } from './unuploaded-log-alert.js';

export interface FinishingJob {
  submission: Submission;
  /** Container name (WorkflowJobId); undefined when the status names none. */
  jobName: string | undefined;
  /** Where the logs go (SubmissionFolder); looked up again when the job never recorded it. */
  logFolderId: string | undefined;
  /** Whether a container was (or may have been) created: then there are logs, and a "started" message. */
  launched: boolean;
  /** The status someone else (the workflow itself) set while it ran: kept, instead of the outcome's. */
  statusSetByOthers?: SubmissionStatusEnum | undefined;
  progress?: number;
  /**
   * The status as this process last read or wrote it (the tick's listing, the claim's answer), for its
   * etag: the final write then needs no read unless someone wrote since (see `finalize`).
   */
  status?: SubmissionStatus | undefined;
}

export async function finishSubmission(
  ctx: Services,
  jobs: JobTable,
  job: FinishingJob,
  outcome: Outcome,
): Promise<boolean> {
  const { submission, jobName } = job;
  const record = jobName === undefined ? undefined : jobs.record(jobName, submission.id);
  const log = submissionLogger(ctx.logger, {
    submissionId: submission.id,
    evaluationId: submission.evaluationId,
  });
  const succeeded = outcome.kind === 'succeeded';
  const shared = ctx.config.results.shareImmediately;
  const finalStatus = job.statusSetByOthers ?? (succeeded ? ctx.stage.succeeded : ctx.stage.failed);
  const launched = record !== undefined && job.launched;
  // A finish retried after an earlier attempt kept the log (its upload failed): that log is the one to read.
  const kept = jobName === undefined ? undefined : await keptLogOf(ctx, jobName, submission.id);
  const logPath = jobName === undefined ? undefined : (kept?.local ?? logPathOf(ctx, jobName));
  // A job stopped before it recorded its folder (a restart in between) still has one.
  const logFolderId =
    job.logFolderId ??
    (launched
      ? logFolderOf(
          ctx,
          await ctx.folders.forSubmission(submission.teamId ?? submission.userId, submission.id),
        )
      : undefined);

  // 1. The final logs, after the container's last line (not again once kept: the organizers were told).
  let truncated = false;
  let uploaded = false;
  let uploadError: unknown;
  if (record !== undefined && job.launched) {
    await finishFollowing(ctx, record);
    if (kept !== undefined) {
      log.warn('The final log was kept earlier, after its upload failed; not uploading it again', {
        path: kept.host,
      });
    } else if (logFolderId !== undefined) {
      try {
        const result = await uploadJobLog(ctx, submission.id, record.jobName, logFolderId, record);
        uploaded = result !== undefined;
        truncated = result?.truncated ?? false;
      } catch (error) {
        log.error('Could not upload the final log', { error: (error as Error).message });
        uploadError = error;
      }
    }
  }

  // What the run produced (a Docker-image evaluation): files to the folders the evaluation file names.
  if (outcome.kind === 'succeeded' && outcome.results !== undefined) {
    await uploadResults(ctx, submission, outcome.results);
  }

  // The failing step's own words (an error annotation it wrote, else its last output), for the reason.
  let stepErrors: StepErrors = {};
  // The status as last read, for the final write's etag: this tick's listing, or (a failed run) the read
  // for its error annotations below, which is fresher.
  let lastRead = job.status;
  if (outcome.kind === 'failed') {
    // Error annotations unchanged since the claim are an earlier run's (a re-queued submission).
    const earlier =
      jobName === undefined
        ? undefined
        : await readRecordedErrorAnnotations(JobDirectory.of(ctx.jobRoot, jobName));
    const { status: read, ...errors } = await findStepErrors(
      ctx.client,
      submission.id,
      logPath,
      shared,
      log,
      earlier,
    );
    stepErrors = errors;
    lastRead = read ?? lastRead;
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

  // 2. The messages: the "started" one first, when a container ran (after a restart it may never have been
  // queued), then the final one, held until its status is written.
  const kind = messageKindFor(outcome);
  if (launched && jobName !== undefined) await queueStartedMessage(ctx, submission, jobName, logFolderId);
  const logTail =
    shared && logPath !== undefined && stepErrors.inMessage === undefined
      ? await readLogTail(logPath)
      : undefined;
  let final: { key: string; queued: boolean };
  try {
    final = await holdFinalMessage(
      ctx,
      kind,
      { submission, logFolderId, outcome, logTail, stepError: stepErrors.inMessage, finalStatus },
      jobName,
    );
  } catch (error) {
    ctx.sender.settled(finalKey(submission.id, jobName));
    throw error;
  }

  // 3. The final status; the message goes once it landed.
  let applied: boolean;
  try {
    if (jobName !== undefined && job.launched) {
      await JobDirectory.of(ctx.jobRoot, jobName)
        .markFinalizing()
        .catch(() => undefined); // no directory: nothing can mistake this ending for someone else's
    }
    const result = await finalize(ctx, submission, jobName, {
      status: finalStatus,
      description: statusDescription(outcome),
      reason,
      progress: job.progress,
      logUploaded: uploaded,
      logTruncated: truncated,
      notified: final.queued ? kind : undefined,
      logFolderId: job.logFolderId === undefined ? logFolderId : undefined,
      statusSetByOthers: job.statusSetByOthers !== undefined,
      scores: outcome.kind === 'succeeded' ? outcome.results?.scores : undefined,
      current: lastRead,
    });
    applied = result.applied;
    if (applied) {
      await ctx.outbox.release(final.key);
      log.info('Submission finished', {
        status: result.status.status,
        outcome: outcome.kind,
        ...(reason === undefined ? {} : { reason }),
      });
    } else {
      await ctx.outbox.drop(final.key);
      log.warn('Submission changed status while it ran; left its status alone and sent no final message', {
        status: result.status.status,
        outcome: outcome.kind,
      });
    }
  } finally {
    ctx.sender.settled(final.key);
  }

  // 4. Nothing of the job left behind, except a log that could not be uploaded: that is kept, and the
  // organizers are told where (after the final status, so a finish retried before this uploads and
  // reports again; one retried after it finds the log kept, above, and leaves it there).
  if (uploadError !== undefined && jobName !== undefined && logFolderId !== undefined) {
    const keptAt = await keepUnuploadedLog(ctx, jobName, submission.id);
    await reportUnuploadedLog(ctx, submission, logFolderId, uploadError, keptAt);
  }
  try {
    await cleanUpJob(ctx, jobName, !succeeded);
  } finally {
    // Ended, whatever the clean-up managed: a listing still showing it running must not finish it again
    // (what the clean-up left is removed as a leftover or swept).
    if (jobName !== undefined) jobs.forget(jobName);
  }

  const problem = pipelineProblem(outcome, submission.id);
  if (problem !== undefined && applied) {
    ctx.alerts.report({
      key: problem.key,
      subject: 'Submission Pipeline Failed',
      submissionId: submission.id,
      body: [
        `Submission ${submission.id} in evaluation queue ${submission.evaluationId} ended ${ctx.stage.failed}.`,
        `What went wrong: ${problem.detail}`,
        `What the participant was told: ${reason ?? ''}`,
        ...(jobName === undefined ? [] : [`Workflow job: ${jobName}`]),
      ].join('\n'),
    });
  }
  return applied;
}

/** Uploads a run's result files: each as a FileEntity in the submission's locked or shared folder. */
async function uploadResults(ctx: Services, submission: Submission, results: RunResults): Promise<void> {
  const total = results.uploads.locked.length + results.uploads.shared.length;
  if (total === 0) return;
  const folders = await ctx.folders.forSubmission(submission.teamId ?? submission.userId, submission.id);
  const targets: [string, string[]][] = [
    [folders.locked, results.uploads.locked],
    [folders.shared, results.uploads.shared],
  ];
  for (const [folderId, files] of targets) {
    for (const file of files) {
      const name = basename(file);
      const handleId = await ctx.client.files.uploadFileForId(file, { fileName: name });
      await ctx.client.entities.createOrUpdateFile(folderId, name, handleId);
    }
  }
  submissionLogger(ctx.logger, { submissionId: submission.id, evaluationId: submission.evaluationId }).info(
    'Uploaded the files the evaluation file names',
    { locked: results.uploads.locked.length, shared: results.uploads.shared.length },
  );
}

/** Removes the job's containers (engine and steps) and its directory; keeps a failed job's when configured. */
export async function cleanUpJob(ctx: Services, jobName: string | undefined, failed: boolean): Promise<void> {
  if (jobName === undefined) return;
  const directory = JobDirectory.of(ctx.jobRoot, jobName);
  await ctx.engine.remove(jobName, directory.hostPath);
  await directory.removeCredentials();
  if (!(failed && ctx.config.workflow.keepFailedJobDirs)) await directory.remove();
}
