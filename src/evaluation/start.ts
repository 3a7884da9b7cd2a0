/**
 * Starting one submission: claim it, then give it folders, a job directory and an engine container.
 *
 * The claim comes first and is guarded by the etag just read: only the instance whose write lands runs
 * the submission (a 412 means someone else wrote; if it is no longer waiting, it is skipped). Everything
 * after the claim either ends with a running container or with the submission INVALID and nothing left
 * behind (container, job directory, credentials file).
 */
import { randomUUID } from 'node:crypto';
import { ImagePullError, JOB_NAME_PREFIX } from '../engine/interfaces.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle } from '../synapse/types.js';
import type { PreparedTemplate } from '../templates/index.js';
import {
  ANNOTATIONS,
  PER_RUN_ANNOTATIONS,
  longAnnotation,
  readString,
  stringAnnotation,
} from './annotations.js';
import { ensureFollower, logFolderOf } from './job-logs.js';
import type { RunContext } from './context.js';
import { sendStartedMessage, settleStartedMessage } from './started-message.js';
import { recordErrorAnnotations } from './earlier-errors.js';
import { engineCommand } from './engine-command.js';
import { ERROR_ANNOTATIONS } from './failure-reason.js';
import { finishSubmission } from './finish.js';
import { JobDirectory } from './job-directory.js';
import type { Outcome } from './outcome.js';

export type StartResult = 'started' | 'skipped' | 'cancelled' | 'failed';

/** The template as prepared for this tick, or why it could not be. */
export type TemplateForQueue =
  { ok: true; template: PreparedTemplate } | { ok: false; templateEntityId: string; detail: string };

export const submitterOf = (bundle: SubmissionBundle): string =>
  bundle.submission.teamId ?? bundle.submission.userId;

/** A waiting submission whose submitter asked to cancel it: INVALID, nothing runs (swo-spec §2.3a). */
export async function cancelBeforeStart(ctx: RunContext, bundle: SubmissionBundle): Promise<boolean> {
  const { id, evaluationId } = bundle.submission;
  const result = await ctx.client.evaluations.updateStatus(
    id,
    {
      status: ctx.stage.failed,
      canCancel: false,
      set: [
        stringAnnotation(ANNOTATIONS.statusDescription, 'STOPPED UPON REQUEST'),
        stringAnnotation(
          ANNOTATIONS.failureReason,
          'Stopped on request: the submission was cancelled before it started.',
          !ctx.config.results.shareImmediately,
        ),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, ctx.now()),
      ],
    },
    {
      current: bundle.submissionStatus,
      precondition: (status) => status.status === ctx.stage.waiting,
    },
  );
  if (result.applied) {
    const log = submissionLogger(ctx.logger, { submissionId: id, evaluationId });
    log.info('Submission was cancelled before it started; marked INVALID');
    try {
      await ctx.notifier.send('stopped', {
        submission: bundle.submission,
        outcome: { kind: 'stopped-on-request' },
      });
    } catch (error) {
      log.warn('Could not send the "stopped" message', { error: (error as Error).message });
    }
  }
  return result.applied;
}

export async function startSubmission(
  ctx: RunContext,
  bundle: SubmissionBundle,
  template: TemplateForQueue,
): Promise<StartResult> {
  const { id: submissionId, evaluationId } = bundle.submission;
  const log = submissionLogger(ctx.logger, { submissionId, evaluationId });
  if (bundle.submissionStatus.cancelRequested === true) {
    return (await cancelBeforeStart(ctx, bundle)) ? 'cancelled' : 'skipped';
  }

  const jobName = `${JOB_NAME_PREFIX}${randomUUID()}`;
  const now = ctx.now();
  const claim = await ctx.client.evaluations.updateStatus(
    submissionId,
    {
      status: ctx.stage.running,
      canCancel: true,
      cancelRequested: false,
      set: [
        stringAnnotation(ANNOTATIONS.workflowJobId, jobName),
        stringAnnotation(ANNOTATIONS.orchestratorId, ctx.config.orchestratorId),
        longAnnotation(ANNOTATIONS.executionStarted, now, true),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, now),
      ],
      remove: [...PER_RUN_ANNOTATIONS],
    },
    {
      current: bundle.submissionStatus,
      precondition: (status) => status.status === ctx.stage.waiting && status.cancelRequested !== true,
    },
  );
  if (!claim.applied) {
    log.info('Submission was taken or changed by someone else before we could claim it; skipped', {
      status: claim.status.status,
    });
    return 'skipped';
  }
  log.info('Claimed submission', { job: jobName });

  let directory: JobDirectory | undefined;
  try {
    if (!template.ok) {
      throw new LaunchFailure({
        kind: 'template-broken',
        templateEntityId: template.templateEntityId,
        detail: template.detail,
      });
    }
    const folders = await ctx.folders.forSubmission(submitterOf(bundle), submissionId);
    directory = await JobDirectory.create(ctx.jobRoot, jobName);
    await ctx.templates.copyTo(template.template, directory.localPath);
    await directory.writeCredentials(
      ctx.config.synapse.username ?? (await ctx.userName()),
      ctx.config.synapse.authToken ?? '',
      ctx.config.synapse.endpoint,
    );
    await directory.writeJobFile({
      submissionId,
      workflowSynapseId: template.template.entityId,
      submitterUploadSynId: folders.shared,
      adminUploadSynId: folders.locked,
    });
    // An earlier run's error annotations are still on the status: the end of this run must tell them apart.
    await recordErrorAnnotations(directory, claim.status, ERROR_ANNOTATIONS);
    const image = ctx.config.workflow.engineImage;
    try {
      await ctx.engine.ensureImage(image);
    } catch (error) {
      if (error instanceof ImagePullError) {
        throw new LaunchFailure({ kind: 'pull-failed', image, detail: error.message });
      }
      throw error;
    }
    await ctx.engine.start({
      name: jobName,
      image,
      command: engineCommand(
        ctx.config.workflow.command,
        ctx.config.workflow.toilCliOptions,
        directory,
        template.template.rootTemplate,
      ),
      jobDir: directory.hostPath,
      identity: { orchestratorId: ctx.config.orchestratorId, submissionId, evaluationId },
    });
    log.info('Started workflow', { job: jobName, image, template: template.template.entityId });
    ctx.startedHere.add(jobName);
    ensureFollower(ctx, jobName);
    await afterStart(ctx, bundle, jobName, logFolderOf(ctx, folders));
    return 'started';
  } catch (error) {
    const outcome: Outcome =
      error instanceof LaunchFailure
        ? error.outcome
        : { kind: 'launch-failed', detail: (error as Error).message };
    log.error('Could not start the workflow; ending the submission', {
      outcome: outcome.kind,
      error: (error as Error).message,
    });
    await finishSubmission(ctx, { submission: bundle.submission, jobName, logFolderId: undefined }, outcome);
    return 'failed';
  }
}

/** How long the start waits for the "started" message before leaving it to finish in the background. */
const STARTED_MESSAGE_WAIT_MS = 2_000;

/**
 * Right after the container started: the "started" message (also for a job that will be done before the
 * next tick, which SWO never told), then one status write recording the log folder and, when it went out
 * already, the message. A message still on its way (Synapse's pacing) is recorded by a later tick; a
 * failed one is sent again by monitoring (checking the outbox first).
 */
async function afterStart(
  ctx: RunContext,
  bundle: SubmissionBundle,
  jobName: string,
  logFolderId: string,
): Promise<void> {
  const { submission } = bundle;
  sendStartedMessage(ctx, jobName, { submission, logFolderId }, false);
  // Most sends take a moment: wait that long, so the usual case needs one status write, not two.
  const sent = (await settleStartedMessage(ctx, jobName, STARTED_MESSAGE_WAIT_MS)) === 'sent';
  try {
    await ctx.client.evaluations.updateStatus(
      submission.id,
      {
        set: [
          stringAnnotation(ANNOTATIONS.submissionFolder, logFolderId),
          ...(sent ? [stringAnnotation(ANNOTATIONS.startedMessageSent, 'true', true)] : []),
        ],
      },
      {
        precondition: (status) =>
          status.status === ctx.stage.running && readString(status, ANNOTATIONS.workflowJobId) === jobName,
      },
    );
  } catch (error) {
    ctx.logger.warn('Could not record the log folder; trying again next tick', {
      submissionId: submission.id,
      job: jobName,
      error: (error as Error).message,
    });
  }
}

class LaunchFailure extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.kind);
  }
}
