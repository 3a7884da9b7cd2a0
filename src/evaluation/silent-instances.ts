/**
 * Instances that share the queues watch each other through the status: each running submission carries
 * its instance (OrchestratorId) and the time that instance last looked at it (WorkflowLastUpdated,
 * refreshed at least every few minutes while it runs). A submission of another instance not looked at for
 * STALE_INSTANCE_SECONDS means that instance stopped (its machine died, or it was stopped and not
 * restarted): the admin is told once per instance, and with RECLAIM_STALE_SUBMISSIONS=true its
 * submissions go back to the queue for a live instance to run.
 */
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle } from '../synapse/types.js';
import { ANNOTATIONS, readNumber, readString } from './annotations.js';
import type { Services } from './services.js';
import { returnToQueue } from './transitions.js';

/** Looks at the other instances' running submissions; reports (and maybe reclaims) the silent ones. */
export function watchOtherInstances(svc: Services, running: readonly SubmissionBundle[]): void {
  const boundMs = svc.config.instances.staleAfterSeconds * 1000;
  const silent = new Map<string, SubmissionBundle[]>();
  const unowned: SubmissionBundle[] = [];
  for (const bundle of running) {
    const instance = readString(bundle.submissionStatus, ANNOTATIONS.orchestratorId);
    if (instance === undefined) {
      unowned.push(bundle);
      continue;
    }
    if (instance === svc.config.orchestratorId) continue;
    const last = readNumber(bundle.submissionStatus, ANNOTATIONS.workflowLastUpdated);
    if (last === undefined || svc.now() - last < boundMs) continue;
    silent.set(instance, [...(silent.get(instance) ?? []), bundle]);
  }
  if (unowned.length > 0) reportUnowned(svc, unowned);
  for (const [instance, bundles] of silent) {
    const ids = bundles.map((b) => b.submission.id);
    const reclaim = svc.config.instances.reclaimStale;
    svc.logger.warn('Another orchestrator instance has not looked at its submissions for too long', {
      instance,
      submissions: ids,
      reclaiming: reclaim,
    });
    const oldest = ids.slice().sort()[0] ?? '';
    svc.alerts.report({
      key: `silent-instance:${instance}:${oldest}`,
      subject: `Orchestrator instance ${instance} seems to have stopped`,
      body: [
        `Orchestrator instance ${instance} has not updated its running submissions for more than ` +
          `${svc.config.instances.staleAfterSeconds} seconds (STALE_INSTANCE_SECONDS): ${ids.join(', ')}.`,
        reclaim
          ? `They are being returned to the queue (RECLAIM_STALE_SUBMISSIONS=true), so a live instance runs them again. ` +
            `If instance ${instance} comes back, it removes its containers of these submissions.`
          : `They stay as they are. Restart that instance (with the same ORCHESTRATOR_ID and work directory) to ` +
            `finish them, or set RECLAIM_STALE_SUBMISSIONS=true on a live instance to run them again.`,
        `Reported by instance ${svc.config.orchestratorId}.`,
      ].join('\n'),
    });
    if (!reclaim) continue;
    for (const bundle of bundles) void reclaimOne(svc, bundle);
  }
}

async function reclaimOne(svc: Services, bundle: SubmissionBundle): Promise<void> {
  const jobName = readString(bundle.submissionStatus, ANNOTATIONS.workflowJobId);
  const log = submissionLogger(svc.logger, {
    submissionId: bundle.submission.id,
    evaluationId: bundle.submission.evaluationId,
  });
  if (jobName === undefined) return;
  try {
    const result = await returnToQueue(svc, bundle.submission.id, jobName, {
      anyInstance: true,
      current: bundle.submissionStatus,
    });
    if (result.applied) log.warn("Returned a silent instance's submission to the queue", { job: jobName });
  } catch (error) {
    log.warn("Could not return a silent instance's submission to the queue; trying again next tick", {
      error: (error as Error).message,
    });
  }
}

/**
 * Running submissions no instance of this orchestrator claimed: SWO's (at a migration, SWO did not write
 * OrchestratorId) or another tool's. They are never touched here; the admin is told once per set, so a
 * submission SWO left running is not forgotten in EVALUATION_IN_PROGRESS.
 */
function reportUnowned(svc: Services, bundles: readonly SubmissionBundle[]): void {
  const ids = bundles.map((b) => b.submission.id).sort();
  svc.alerts.report({
    key: `unowned-running:${ids[0] ?? ''}:${ids.length}`,
    subject: 'Submissions in progress that no orchestrator instance claimed',
    body: [
      `${ids.length} submission(s) are EVALUATION_IN_PROGRESS without an OrchestratorId annotation: ${ids.join(', ')}.`,
      'They were started by something other than this orchestrator, most often SynapseWorkflowOrchestrator ' +
        'before a migration. This orchestrator leaves them alone. Let the tool that started them finish them ' +
        '(keep SWO running with ACCEPT_NEW_SUBMISSIONS=false until they end), or set their status by hand ' +
        `(back to ${svc.stage.waiting} to have them run here).`,
      `Reported by instance ${svc.config.orchestratorId}.`,
    ].join('\n'),
  });
}
