/**
 * The end of a submission's run: the final status write, then nothing of the job left behind.
 *
 * Order matters. The engine container is stopped before this is called (nothing of the job runs), the
 * final status is written while the stopped container still exists (if the write fails, the next tick
 * sees the container again and finishes the job then), and only then are the containers and the job
 * directory removed. The credentials file goes in every case.
 */
import { submissionLogger } from '../logging/logger.js';
import { ANNOTATIONS, doubleAnnotation, longAnnotation, stringAnnotation } from './annotations.js';
import type { RunContext } from './context.js';
import { JobDirectory } from './job-directory.js';
import { failureReason, pipelineProblem, statusDescription, type Outcome } from './outcome.js';

export interface FinishingJob {
  submissionId: string;
  evaluationId: string;
  /** Container name (WorkflowJobId); undefined when the job never got one. */
  jobName: string | undefined;
  progress?: number;
}

export async function finishSubmission(
  ctx: RunContext,
  job: FinishingJob,
  outcome: Outcome,
): Promise<boolean> {
  const log = submissionLogger(ctx.logger, {
    submissionId: job.submissionId,
    evaluationId: job.evaluationId,
  });
  const succeeded = outcome.kind === 'succeeded';
  const reason = failureReason(outcome);
  const shared = ctx.config.results.shareImmediately;
  const result = await ctx.client.evaluations.updateStatus(
    job.submissionId,
    {
      status: succeeded ? ctx.stage.succeeded : ctx.stage.failed,
      canCancel: false,
      set: [
        stringAnnotation(ANNOTATIONS.statusDescription, statusDescription(outcome)),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, ctx.now()),
        // With locked results the reason stays private: it may say more than the participant should see.
        ...(reason === undefined ? [] : [stringAnnotation(ANNOTATIONS.failureReason, reason, !shared)]),
        ...(job.progress === undefined ? [] : [doubleAnnotation(ANNOTATIONS.progress, job.progress)]),
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
  await cleanUpJob(ctx, job.jobName, !succeeded);
  const problem = pipelineProblem(outcome, job.submissionId);
  if (problem !== undefined) {
    await ctx.alerts.report({
      key: problem.key,
      subject: 'Submission Pipeline Failed',
      submissionId: job.submissionId,
      body: [
        `Submission ${job.submissionId} in evaluation queue ${job.evaluationId} ended ${ctx.stage.failed}.`,
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
  const directory = JobDirectory.at(ctx.jobRoot, jobDirName(jobName));
  await ctx.engine.remove(jobName, directory.hostPath);
  await directory.removeCredentials();
  if (!(failed && ctx.config.workflow.keepFailedJobDirs)) await directory.remove();
}

/** Container `workflow_job.<uuid>` works in directory `<uuid>`. */
export const jobDirName = (jobName: string): string => jobName.replace(/^workflow_job\./, '');
