/**
 * Starting one submission: claim it, then give it folders, a job directory and an engine container.
 *
 * The claim comes first and is guarded by the etag just read: only the instance whose write lands runs
 * the submission (if someone else wrote first and it is no longer waiting, it is skipped). Everything after
 * the claim either ends with a running container or with the submission INVALID and nothing left behind
 * (container, job directory, credentials file). A process that stops in between leaves a claim whose job
 * directory says whether a container was ever asked for (monitor.ts takes it from there).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  ImagePullError,
  JOB_NAME_PREFIX,
  SubmissionRejectedError,
  type RunRequest,
} from '../engine/interfaces.js';
import { EvaluationFileError, readEvaluationFile } from '../templates/evaluation-file.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle, SubmissionStatus } from '../synapse/types.js';
import type { PreparedTemplate } from '../templates/index.js';
import { recordErrorAnnotations } from './earlier-errors.js';
import { ERROR_ANNOTATIONS } from './failure-reason.js';
import { cleanUpJob, finishSubmission } from './finish.js';
import { JOB_FILE, JobDirectory } from './job-directory.js';
import { ensureFollower, logFolderOf } from './job-logs.js';
import type { JobTable } from './job-table.js';
import { queueStartedMessage } from './messages.js';
import type { Outcome } from './outcome.js';
import type { Services } from './services.js';
import { cancelBeforeStart, claim, recordStart, returnToQueue } from './transitions.js';

export type StartResult = 'started' | 'skipped' | 'cancelled' | 'failed';

/** The template as prepared for this tick, or why it could not be. */
export type TemplateForQueue =
  { ok: true; template: PreparedTemplate } | { ok: false; templateEntityId: string; detail: string };

export const submitterOf = (bundle: SubmissionBundle): string =>
  bundle.submission.teamId ?? bundle.submission.userId;

/**
 * A waiting submission whose submitter asked to cancel it: INVALID and told so; nothing runs. The message
 * is held in the outbox before the status is written and released after, so a stop in between loses
 * neither (the outbox settles it from the status).
 */
export async function cancelWaiting(svc: Services, bundle: SubmissionBundle): Promise<boolean> {
  const { id, evaluationId } = bundle.submission;
  const key = `${id}:cancelled-before-start`;
  const now = svc.now();
  try {
    svc.sender.holding(key);
    await svc.notifier.queue(
      'stopped',
      { submission: bundle.submission, outcome: { kind: 'stopped-on-request' } },
      key,
      { submissionId: id, jobName: undefined, finalStatus: svc.stage.failed, writtenAt: now },
    );
    const result = await cancelBeforeStart(svc, bundle, now);
    if (result.applied) {
      await svc.outbox.release(key);
      submissionLogger(svc.logger, { submissionId: id, evaluationId }).info(
        'Submission was cancelled before it started; marked INVALID',
      );
    } else {
      await svc.outbox.drop(key);
    }
    return result.applied;
  } finally {
    svc.sender.settled(key);
  }
}

export async function startSubmission(
  svc: Services,
  jobs: JobTable,
  bundle: SubmissionBundle,
  template: TemplateForQueue,
): Promise<StartResult> {
  if (bundle.submissionStatus.cancelRequested === true) {
    return (await cancelWaiting(svc, bundle)) ? 'cancelled' : 'skipped';
  }
  const jobName = `${JOB_NAME_PREFIX}${randomUUID()}`;
  // In the table before the claim: a tick that reads the claim back leaves the job to this start.
  const record = jobs.record(jobName, bundle.submission.id);
  const result = await jobs.track(record, () => launch(svc, jobs, bundle, template, jobName));
  if (result === 'skipped') jobs.forget(jobName, false);
  return result;
}

async function launch(
  svc: Services,
  jobs: JobTable,
  bundle: SubmissionBundle,
  template: TemplateForQueue,
  jobName: string,
): Promise<StartResult> {
  const { id: submissionId, evaluationId } = bundle.submission;
  const log = submissionLogger(svc.logger, { submissionId, evaluationId });
  const claimed = await claim(svc, bundle, jobName);
  if (!claimed.applied) {
    log.info('Submission was taken or changed by someone else before we could claim it; skipped', {
      status: claimed.status.status,
    });
    return 'skipped';
  }
  log.info('Claimed submission', { job: jobName });

  let logFolderId: string | undefined;
  try {
    if (!template.ok) {
      throw new LaunchFailure({
        kind: 'template-broken',
        templateEntityId: template.templateEntityId,
        detail: template.detail,
      });
    }
    const folders = await svc.folders.forSubmission(submitterOf(bundle), submissionId);
    logFolderId = logFolderOf(svc, folders);
    const directory = await JobDirectory.create(svc.jobRoot, jobName);
    const templateDir = svc.engine.templateDir;
    await svc.templates.copyTo(template.template, directory.localFile(templateDir));
    const { rootTemplate } = template.template;
    const imageEvaluation = await imageEvaluationOf(
      bundle,
      template.template.entityId,
      join(directory.localFile(templateDir), rootTemplate),
      rootTemplate,
    );
    let inputs: Record<string, unknown> = {};
    // A Docker-image evaluation needs no credentials: nothing of it talks to Synapse.
    if (imageEvaluation === undefined) {
      await directory.writeCredentials(
        svc.config.synapse.username ?? (await svc.userName()),
        svc.config.synapse.authToken ?? '',
        svc.config.synapse.endpoint,
      );
      inputs = await directory.writeJobFile({
        submissionId,
        workflowSynapseId: template.template.entityId,
        submitterUploadSynId: folders.shared,
        adminUploadSynId: folders.locked,
      });
    }
    // An earlier run's error annotations are still on the status: the end of this run must tell them apart.
    await recordErrorAnnotations(directory, claimed.status, ERROR_ANNOTATIONS);
    try {
      await svc.engine.start({
        name: jobName,
        localDir: directory.localPath,
        hostDir: directory.hostPath,
        templateDir,
        rootTemplate,
        jobFile: JOB_FILE,
        inputs,
        identity: { orchestratorId: svc.config.orchestratorId, submissionId, evaluationId },
        ...(imageEvaluation === undefined ? {} : { imageEvaluation }),
      });
    } catch (error) {
      if (error instanceof ImagePullError) {
        throw new LaunchFailure({ kind: 'pull-failed', image: error.image, detail: error.message });
      }
      if (error instanceof SubmissionRejectedError) {
        throw new LaunchFailure({ kind: 'submission-failed', reason: error.reason, timedOut: false });
      }
      throw error;
    }
    // From here on a missing container means it disappeared, not that it never was (monitor.ts).
    await directory.markLaunched();
    svc.metrics.submissionsStarted.inc({ queue: evaluationId });
    log.info('Started workflow', {
      job: jobName,
      engine: svc.engine.kind,
      template: template.template.entityId,
    });
  } catch (error) {
    if (!(error instanceof LaunchFailure) && !(await engineAnswers(svc))) {
      // The engine is down (restarting, say): not the submission's fault. The claim stays; once the engine
      // answers, monitoring finds the container (created after all) or not (then back to the queue).
      log.warn('The container engine does not answer; the submission waits for it', {
        job: jobName,
        error: (error as Error).message,
      });
      return 'skipped';
    }
    const outcome: Outcome =
      error instanceof LaunchFailure
        ? error.outcome
        : { kind: 'launch-failed', detail: (error as Error).message };
    log.error('Could not start the workflow; ending the submission', {
      outcome: outcome.kind,
      error: (error as Error).message,
    });
    await finishSubmission(
      svc,
      jobs,
      { submission: bundle.submission, jobName, logFolderId, launched: false, status: claimed.status },
      outcome,
    );
    return 'failed';
  }

  const record = jobs.record(jobName, submissionId);
  ensureFollower(svc, record);
  await markStarted(svc, bundle.submission, jobName, logFolderId, claimed.status);
  return 'started';
}

/**
 * After the container started: the "started" message into the outbox (also for a job that will be done
 * before the next tick, which SWO never told), then one status write recording the log folder, with the
 * etag of `status` (the claim's answer, or the tick's listing) rather than a fresh read. Redone by
 * monitoring when it did not land; the message key makes sure there is one message.
 */
export async function markStarted(
  svc: Services,
  submission: SubmissionBundle['submission'],
  jobName: string,
  logFolderId: string,
  status: SubmissionStatus,
): Promise<void> {
  try {
    const queued = await queueStartedMessage(svc, submission, jobName, logFolderId);
    await recordStart(svc, submission.id, jobName, logFolderId, queued, status);
  } catch (error) {
    svc.logger.warn('Could not record the start; trying again next tick', {
      submissionId: submission.id,
      job: jobName,
      error: (error as Error).message,
    });
  }
}

async function engineAnswers(svc: Services): Promise<boolean> {
  try {
    await svc.engine.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * A claimed submission that never ran goes back to the queue, for any instance to run, and nothing of its
 * job stays behind. The participant was told nothing yet, so is told nothing.
 */
export async function backToQueue(
  svc: Services,
  jobs: JobTable,
  submission: SubmissionBundle['submission'],
  jobName: string,
): Promise<boolean> {
  const result = await returnToQueue(svc, submission.id, jobName);
  if (result.applied) {
    submissionLogger(svc.logger, { submissionId: submission.id, evaluationId: submission.evaluationId }).info(
      'Returned the submission to the queue: its workflow never started here',
      { job: jobName, status: result.status.status },
    );
  }
  try {
    await cleanUpJob(svc, jobName, false);
  } catch (error) {
    svc.logger.warn('Could not remove what the job left; trying again later', {
      job: jobName,
      error: (error as Error).message,
    });
  }
  jobs.forget(jobName);
  return result.applied;
}

/**
 * The Docker-image evaluation this submission gets when the queue's template is an evaluation file
 * (undefined for a CWL workflow). A broken file is the template's fault; a submission that is not an image
 * is the participant's.
 */
async function imageEvaluationOf(
  bundle: SubmissionBundle,
  templateEntityId: string,
  entryPoint: string,
  rootTemplate: string,
): Promise<RunRequest['imageEvaluation']> {
  let evaluation;
  try {
    evaluation = await readEvaluationFile(entryPoint, rootTemplate);
  } catch (error) {
    if (error instanceof EvaluationFileError) {
      throw new LaunchFailure({ kind: 'template-broken', templateEntityId, detail: error.message });
    }
    throw error;
  }
  if (evaluation === undefined) return undefined;
  const { dockerRepositoryName: repository, dockerDigest: digest } = bundle.submission;
  if (repository === undefined || digest === undefined) {
    throw new LaunchFailure({
      kind: 'submission-failed',
      reason:
        'This queue takes Docker images: submit an image (a Docker repository with its digest), not a file.',
      timedOut: false,
    });
  }
  return { evaluation, repository, digest };
}

class LaunchFailure extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.kind);
  }
}
