/**
 * One tick of the orchestrator, top to bottom: start what capacity allows, fairly across queues, then look
 * at every running job of this instance. `runOnce` is the whole tick; the daemon schedules it.
 *
 * Nothing here throws for one submission's or one queue's sake: each is caught, logged, and retried on
 * the next tick, so one bad submission or template never stops the others.
 */
import { readdir } from 'node:fs/promises';
import pLimit from 'p-limit';
import { JOB_NAME_PREFIX } from '../engine/interfaces.js';
import type { QueueTemplate } from '../config/config.js';
import { submissionLogger } from '../logging/logger.js';
import type { SubmissionBundle, SubmissionStatus } from '../synapse/types.js';
import { TemplateError } from '../templates/index.js';
import { ANNOTATIONS, readNumber, readString } from './annotations.js';
import { EngineOutage } from './engine-outage.js';
import { ensureFollower } from './job-logs.js';
import { cleanUpJob, finishSubmission } from './finish.js';
import { JobDirectory } from './job-directory.js';
import { JobTable } from './job-table.js';
import type { Outcome } from './outcome.js';
import { monitorSubmission } from './monitor.js';
import type { Services } from './services.js';
import { watchOtherInstances } from './silent-instances.js';
import { cancelWaiting, startSubmission, type TemplateForQueue } from './start.js';
import { refuseWaiting } from './transitions.js';
import { WorkView } from './work-view.js';

export interface TickSummary {
  started: number;
  finished: number;
  running: number;
  /** Submissions left waiting because this instance was at MAX_CONCURRENT_WORKFLOWS. */
  deferred: number;
  /** Claimed submissions that never ran here, returned to the queue. */
  requeued: number;
}

/** What a tick is told by the daemon around it. */
export interface TickOptions {
  /** Start nothing new (draining, or stopping). Running jobs are still looked after. */
  startNothing?: boolean;
}

/** Starts run a few at a time; monitoring looks at many jobs at once. */
const PARALLEL_STARTS = 4;
const PARALLEL_UPDATES = 8;
/**
 * How long a tick waits for its running jobs' updates. A slow one (a final message waiting its turn under
 * Synapse's 10-a-minute limit, a 60 s stop, a large final upload) goes on in the background and is not
 * started again while it runs, so it cannot hold up the other jobs' cancels and time-outs.
 */
const TICK_WAIT_MS = 10_000;

/** Resolves after `ms` without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Interleaves the queues' lists (q1[0], q2[0], …, q1[1], …), beginning with queue `first`. */
export function fairOrder<T>(lists: readonly T[][], first: number): T[] {
  const order: T[] = [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let index = 0; index < longest; index++) {
    for (let offset = 0; offset < lists.length; offset++) {
      const item = lists[(first + offset) % lists.length]?.[index];
      if (item !== undefined) order.push(item);
    }
  }
  return order;
}

export class Orchestrator {
  private rotation = 0;
  private halted = false;
  private readonly startLimit = pLimit(PARALLEL_STARTS);
  private readonly updateLimit = pLimit(PARALLEL_UPDATES);
  /** What this process knows of each job it runs. */
  readonly jobs: JobTable;
  /** What it runs and what waits, for the status endpoints (filled in by each tick). */
  readonly view: WorkView;
  /** Waiting submissions being started, cancelled or refused (by id), maybe from an earlier tick. */
  private readonly intake = new Map<string, Promise<void>>();
  /** How many of those are starts (each may become a container: counted against the capacity). */
  private startsInFlight = 0;
  /** Submissions put back in the queue while their run here was going on: the runs it happened to. */
  private readonly requeuedUnderRun = new Map<string, Set<string>>();
  private readonly outage: EngineOutage;

  constructor(private readonly ctx: Services) {
    this.outage = new EngineOutage(ctx);
    this.jobs = new JobTable(ctx.now);
    this.view = new WorkView(
      ctx.config.queues.map((q) => q.evaluationId),
      ctx.now,
    );
  }

  async runOnce(options: TickOptions = {}): Promise<TickSummary> {
    const summary: TickSummary = { started: 0, finished: 0, running: 0, deferred: 0, requeued: 0 };
    const intake =
      this.ctx.config.intake.acceptNewSubmissions && options.startNothing !== true && !this.halted;
    // Side by side: a start slowed down by the platform (retries, backoff) must not hold up a finished job's
    // final status or a cancel, nor the other way round.
    const halves = await Promise.allSettled([
      intake ? this.startNewWork(summary) : undefined,
      this.updateRunningJobs(summary),
    ]);
    for (const half of halves) {
      if (half.status === 'rejected') {
        this.ctx.logger.error('Part of the tick failed; trying again at the next one', {
          error: (half.reason as Error).message,
        });
      }
    }
    await this.ctx.alerts.flush();
    return summary;
  }

  /** Waits (up to `timeoutMs`) for job updates still under way (a start, a stop, a finish). */
  async settle(timeoutMs = 120_000): Promise<void> {
    const pending = [...this.jobs.inProgress(), ...this.intake.values()];
    if (pending.length === 0) return;
    await Promise.race([Promise.allSettled(pending), delay(timeoutMs)]);
  }

  /** Starts under way (claimed or being claimed, container not known yet). */
  get startsUnderWay(): number {
    return this.startsInFlight;
  }

  private isHalted(): boolean {
    return this.halted;
  }

  /** Claims nothing more (a stop is under way); running jobs are still looked after. */
  halt(): void {
    this.halted = true;
  }

  /** Stops following logs (their streams would keep the process alive); running containers go on. */
  shutdown(): void {
    this.jobs.stopFollowing();
  }

  private async startNewWork(summary: TickSummary): Promise<void> {
    const { ctx } = this;
    const queues = ctx.config.queues;
    const listed = await Promise.all(queues.map((queue) => this.waitingIn(queue)));
    // A submission whose start (or cancel) from an earlier tick is still under way is left to it.
    const waiting = listed.map((list) => list.filter((b) => !this.intake.has(b.submission.id)));
    // Cancelled-before-start submissions are settled whatever the capacity.
    const cancelled = waiting.flat().filter((bundle) => bundle.submissionStatus.cancelRequested === true);
    const looping = waiting.flat().filter((bundle) => this.requeuedAgainUnderRun(bundle));
    const skip = new Set([...cancelled, ...looping]);
    const candidates = waiting.map((list) => list.filter((b) => !skip.has(b)));

    let ours;
    try {
      ours = await ctx.engine.list(ctx.config.orchestratorId);
      this.outage.answered();
    } catch (error) {
      this.outage.failed(error);
      return;
    }
    // Starts still under way may each become a container: they count, so the limit is never passed.
    const capacity = Math.max(
      0,
      ctx.config.workflow.maxConcurrent - ours.filter((job) => job.running).length - this.startsInFlight,
    );
    const ordered = fairOrder(candidates, this.rotation);
    this.rotation = queues.length === 0 ? 0 : (this.rotation + 1) % queues.length;
    const chosen = ordered.slice(0, capacity);
    summary.deferred = ordered.length - chosen.length;
    if (summary.deferred > 0) {
      ctx.logger.info('At the concurrency limit; the rest wait for the next tick', {
        limit: ctx.config.workflow.maxConcurrent,
        waiting: summary.deferred,
      });
    }

    const templates = new Map<string, Promise<TemplateForQueue | undefined>>();
    const templateFor = (evaluationId: string) => {
      const queue = queues.find((q) => q.evaluationId === evaluationId);
      if (queue === undefined) return Promise.resolve(undefined);
      let pending = templates.get(queue.templateEntityId);
      if (pending === undefined) {
        pending = this.prepareTemplate(queue);
        templates.set(queue.templateEntityId, pending);
      }
      return pending;
    };

    const track = (bundle: SubmissionBundle, work: () => Promise<void>, isStart = false) => {
      const id = bundle.submission.id;
      if (isStart) this.startsInFlight++;
      const task = this.startLimit(work).finally(() => {
        this.intake.delete(id);
        if (isStart) this.startsInFlight--;
      });
      this.intake.set(id, task);
      return task;
    };
    const tasks = [
      ...looping.map((bundle) =>
        track(bundle, async () => {
          const result = await this.guard(bundle, () => this.refuseRequeueLoop(bundle));
          if (result === true) summary.finished++;
        }),
      ),
      ...cancelled.map((bundle) =>
        track(bundle, async () => {
          const result = await this.guard(bundle, () => cancelWaiting(ctx, bundle));
          if (result === true) summary.finished++;
        }),
      ),
      ...chosen.map((bundle) =>
        track(
          bundle,
          async () => {
            if (this.halted) return; // stopping: it waits for the next start (or another instance)
            const template = await templateFor(bundle.submission.evaluationId);
            if (template === undefined || this.isHalted()) return; // template unreachable this tick: stays waiting
            this.view.starting(bundle);
            let result;
            try {
              result = await this.guard(bundle, () => startSubmission(ctx, this.jobs, bundle, template));
            } finally {
              this.view.startEnded(bundle.submission.id, result === 'started');
            }
            if (result === 'started') summary.started++;
            if (result === 'failed') summary.finished++;
          },
          true,
        ),
      ),
    ];
    // As with running jobs: a slow one goes on in the background and is not begun again meanwhile.
    await Promise.race([Promise.all(tasks), delay(TICK_WAIT_MS)]);
  }

  /** The waiting submissions of one queue; a queue that cannot be read is skipped this tick. */
  private async waitingIn(queue: QueueTemplate): Promise<SubmissionBundle[]> {
    try {
      const { items, duplicates } = await this.ctx.client.evaluations.bundles(
        queue.evaluationId,
        this.ctx.stage.waiting,
      );
      if (duplicates > 0) {
        this.ctx.logger.warn('The queue listing repeated submissions while paging; each is handled once', {
          evaluationId: queue.evaluationId,
          duplicates,
        });
      }
      this.view.sawWaiting(queue.evaluationId, items.length);
      return items;
    } catch (error) {
      this.view.listingFailed(queue.evaluationId, (error as Error).message);
      this.ctx.logger.error('Could not read the evaluation queue; trying again next tick', {
        evaluationId: queue.evaluationId,
        error: (error as Error).message,
      });
      return [];
    }
  }

  /**
   * The queue's template for this tick. A broken template is passed on (its submissions end INVALID with
   * the reason); an unreachable one (network, Synapse down) leaves the queue's submissions waiting.
   */
  private async prepareTemplate(queue: QueueTemplate): Promise<TemplateForQueue | undefined> {
    try {
      return { ok: true, template: await this.ctx.templates.prepare(queue.templateEntityId) };
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof TemplateError && error.problem !== 'download') {
        this.ctx.logger.error('Workflow template is broken', {
          evaluationId: queue.evaluationId,
          template: queue.templateEntityId,
          error: message,
        });
        return { ok: false, templateEntityId: queue.templateEntityId, detail: message };
      }
      this.ctx.logger.error('Could not get the workflow template; its submissions wait for the next tick', {
        evaluationId: queue.evaluationId,
        template: queue.templateEntityId,
        error: message,
      });
      return undefined;
    }
  }

  private async updateRunningJobs(summary: TickSummary): Promise<void> {
    const { ctx } = this;
    const running = await Promise.all(
      ctx.config.queues.map(async (queue) => {
        try {
          return (await ctx.client.evaluations.bundles(queue.evaluationId, ctx.stage.running)).items;
        } catch (error) {
          ctx.logger.error('Could not read running submissions; looking again next tick', {
            evaluationId: queue.evaluationId,
            error: (error as Error).message,
          });
          return undefined;
        }
      }),
    );
    const all = running.flatMap((list) => list ?? []);
    const ours = all.filter(
      (b) => readString(b.submissionStatus, ANNOTATIONS.orchestratorId) === ctx.config.orchestratorId,
    );
    watchOtherInstances(ctx, all);
    ctx.config.queues.forEach((queue, index) => {
      if (running[index] === undefined) return; // not listed this tick: what was known stays
      this.view.sawRunning(
        queue.evaluationId,
        ours.filter((b) => {
          const job = readString(b.submissionStatus, ANNOTATIONS.workflowJobId);
          return (
            b.submission.evaluationId === queue.evaluationId &&
            !(job !== undefined && this.jobs.hasEnded(job))
          );
        }),
        (job) => this.jobs.isBusy(job),
      );
    });

    const updates: Promise<void>[] = [];
    for (const bundle of ours) {
      const jobName = readString(bundle.submissionStatus, ANNOTATIONS.workflowJobId);
      // Ended here after the listing was read: the listing is stale for it (it must not be finished twice).
      if (jobName !== undefined && this.jobs.hasEnded(jobName)) continue;
      if (jobName !== undefined && this.jobs.isBusy(jobName)) {
        summary.running++; // still being started, stopped or finished from an earlier tick
        continue;
      }
      const record = jobName === undefined ? undefined : this.jobs.record(jobName, bundle.submission.id);
      const work = () =>
        this.updateLimit(async () => {
          const result = await this.guard(bundle, () => monitorSubmission(ctx, this.jobs, bundle));
          if (result === 'finished') summary.finished++;
          if (result === 'running') summary.running++;
          if (result === 'requeued') summary.requeued++;
          if (result === 'finished' || result === 'requeued') this.view.ended(bundle.submission.id);
        });
      updates.push(record === undefined ? work() : this.jobs.track(record, work));
    }
    await Promise.race([Promise.all(updates), delay(TICK_WAIT_MS)]);

    // Containers of this instance whose submission is not running here any more: a crash between the
    // final write and the clean-up, or an admin who re-queued it. Remove them. Skipped when a queue
    // could not be read, since its running jobs would look orphaned.
    if (running.some((list) => list === undefined)) return;
    const known = new Set(ours.map((b) => readString(b.submissionStatus, ANNOTATIONS.workflowJobId)));
    let jobs;
    try {
      jobs = await ctx.engine.list(ctx.config.orchestratorId);
    } catch (error) {
      ctx.logger.error('The workflow engine does not answer; leftovers are looked for next tick', {
        error: (error as Error).message,
      });
      return;
    }
    // A job being started or finished may not be in the listing, or be final while its container exists.
    for (const job of jobs.filter((j) => !known.has(j.name) && !this.jobs.isBusy(j.name))) {
      await this.removeIfOrphan(job.name, job.identity.submissionId, job.identity.evaluationId);
    }
    await this.sweepJobDirectories(new Set([...known, ...jobs.map((j) => j.name)]));
  }

  /**
   * Job directories left with neither a container nor a running submission (the process stopped between
   * removing a job's containers and its directory): their credentials file goes, and the directory too
   * unless KEEP_FAILED_JOB_DIRS keeps job directories for inspection.
   */
  private async sweepJobDirectories(inUse: ReadonlySet<string | undefined>): Promise<void> {
    const { ctx } = this;
    let names: string[];
    try {
      names = await readdir(ctx.jobRoot.local);
    } catch {
      return; // no job directory yet
    }
    for (const name of names) {
      const jobName = `${JOB_NAME_PREFIX}${name}`;
      if (inUse.has(jobName) || this.jobs.get(jobName) !== undefined) continue;
      const directory = JobDirectory.of(ctx.jobRoot, jobName);
      try {
        await directory.removeCredentials();
        if (!ctx.config.workflow.keepFailedJobDirs) {
          await directory.remove();
          ctx.logger.info('Removed a job directory left behind', { job: jobName });
        }
      } catch (error) {
        ctx.logger.warn('Could not remove a job directory left behind', {
          job: jobName,
          error: (error as Error).message,
        });
      }
    }
  }

  private async removeIfOrphan(jobName: string, submissionId: string, evaluationId: string): Promise<void> {
    const { ctx } = this;
    try {
      const status = await ctx.client.evaluations.getStatus(submissionId);
      const stillOurs =
        status.status === ctx.stage.running &&
        readString(status, ANNOTATIONS.orchestratorId) === ctx.config.orchestratorId &&
        readString(status, ANNOTATIONS.workflowJobId) === jobName;
      if (stillOurs) return; // its queue is no longer configured: leave it to whoever runs that queue
      const sameRun =
        readString(status, ANNOTATIONS.orchestratorId) === ctx.config.orchestratorId &&
        readString(status, ANNOTATIONS.workflowJobId) === jobName;
      if (sameRun && status.status !== ctx.stage.waiting && !this.jobs.hasEnded(jobName)) {
        const left = await this.statusChangedUnderJob(jobName, submissionId, evaluationId, status);
        if (left) return;
      }
      ctx.logger.warn('Removing a workflow container whose submission is no longer running here', {
        job: jobName,
        submissionId,
        status: status.status,
      });
      // Nothing the organizers need to hear about: its own final status is on it (this or an earlier
      // process wrote it, then stopped or failed before the clean-up), this process ended it, or it was
      // re-queued and already runs again here.
      const ownEnding =
        this.jobs.hasEnded(jobName) ||
        readString(status, ANNOTATIONS.workflowJobId) === jobName ||
        (status.status === ctx.stage.running &&
          readString(status, ANNOTATIONS.orchestratorId) === ctx.config.orchestratorId);
      await cleanUpJob(ctx, jobName, false);
      this.jobs.forget(jobName);
      if (ownEnding) return;
      ctx.alerts.report({
        key: `orphan:${jobName}`,
        subject: 'Leftover workflow container removed',
        submissionId,
        body:
          `Workflow ${jobName} of this orchestrator (${ctx.config.orchestratorId}) was still on ${ctx.engine.description}, ` +
          `but its submission ${submissionId} is ${status.status} and no longer run by it (re-queued by someone, or ` +
          'the orchestrator stopped between the final status and the clean-up). ' +
          (ctx.engine.kind === 'wes'
            ? 'Its run was cancelled if still on, and its job directory removed; '
            : 'The container, its step containers and its job directory were removed; ') +
          'nothing else needs doing unless this keeps happening.',
      });
    } catch (error) {
      ctx.logger.error('Could not check a leftover workflow container', {
        job: jobName,
        submissionId,
        error: (error as Error).message,
      });
    }
  }

  /**
   * The status of a job that still runs here was changed to something final by someone else: the
   * workflow itself (templates must leave the status to the orchestrator; SWO crash-looped on this) or an
   * admin. The workflow is not cut short: it is left to end by itself (within MAX_RUNTIME_SECONDS), then
   * finished as usual (final log, the rest of the final write, the participant's message) except that the
   * status it was given stands; the organizers are told once per queue. True while it is left running or
   * was finished here; false when the container is to be removed as a leftover.
   */
  private async statusChangedUnderJob(
    jobName: string,
    submissionId: string,
    evaluationId: string,
    status: SubmissionStatus,
  ): Promise<boolean> {
    const { ctx } = this;
    const record = this.jobs.record(jobName, submissionId);
    const state = await ctx.engine.state(jobName);
    const started = readNumber(status, ANNOTATIONS.executionStarted);
    const overdue =
      started !== undefined && ctx.now() - started > ctx.config.workflow.maxRuntimeSeconds * 1000;
    if (state.kind === 'running' && record.detachedAt === undefined) {
      record.detachedAt = ctx.now();
      ensureFollower(ctx, record);
      submissionLogger(ctx.logger, { submissionId, evaluationId }).warn(
        "The submission's status was changed by someone else while its workflow runs; that status stands, and the workflow is left to finish",
        { job: jobName, status: status.status },
      );
      this.reportStatusChangedUnderRun(jobName, submissionId, evaluationId, status);
    }
    if (record.detachedAt === undefined) {
      // It ended before this process saw it running under the changed status. Our own final write leaves a
      // mark first; without one, someone else ended it (the workflow's last step set the status).
      if (await JobDirectory.of(ctx.jobRoot, jobName).wasFinalizing()) return false;
      if (state.kind !== 'exited') return false;
      record.detachedAt = ctx.now();
      this.reportStatusChangedUnderRun(jobName, submissionId, evaluationId, status);
    }
    if (state.kind === 'running' && !overdue) return true;
    if (state.kind === 'running') await ctx.engine.stop(jobName, ctx.stopGraceSeconds);
    const ended = state.kind === 'exited' ? state : await ctx.engine.state(jobName);
    const outcome: Outcome =
      ended.kind === 'exited' && ended.exitCode === 0
        ? { kind: 'succeeded' }
        : ended.kind === 'exited' && !overdue
          ? { kind: 'failed', exitCode: ended.exitCode }
          : { kind: 'timed-out', by: 'max-runtime', limitSeconds: ctx.config.workflow.maxRuntimeSeconds };
    await this.jobs.track(record, async () => {
      const submission = await ctx.client.evaluations.submission(submissionId);
      await finishSubmission(
        ctx,
        this.jobs,
        {
          submission,
          jobName,
          logFolderId: readString(status, ANNOTATIONS.submissionFolder),
          launched: true,
          statusSetByOthers: status.status,
          status,
        },
        outcome,
      );
    });
    return true;
  }

  /**
   * Whether this waiting submission was put back in the queue while its run here was still going on, for
   * the second time or more in this process. Once is an admin re-queuing it (it runs again); again and
   * again is its own workflow setting the status back (it would be run for ever).
   */
  private requeuedAgainUnderRun(bundle: SubmissionBundle): boolean {
    const runs = this.requeuedUnderRun.get(bundle.submission.id) ?? new Set<string>();
    const previous = readString(bundle.submissionStatus, ANNOTATIONS.workflowJobId);
    if (previous !== undefined && this.jobs.get(previous) !== undefined && !this.jobs.hasEnded(previous)) {
      runs.add(previous);
      this.requeuedUnderRun.set(bundle.submission.id, runs);
    }
    return runs.size >= 2;
  }

  private async refuseRequeueLoop(bundle: SubmissionBundle): Promise<boolean> {
    const { ctx } = this;
    const { id, evaluationId } = bundle.submission;
    const reason =
      `Its workflow set it back to ${ctx.stage.waiting} while it ran, more than once; it is not run again. ` +
      '(A workflow template must not change the submission status; the organizers have been told.)';
    const key = `${id}:requeue-loop`;
    const now = ctx.now();
    try {
      ctx.sender.holding(key);
      await ctx.notifier.queue(
        'failed',
        {
          submission: bundle.submission,
          outcome: { kind: 'launch-failed', detail: reason },
          finalStatus: ctx.stage.failed,
        },
        key,
        { submissionId: id, jobName: undefined, finalStatus: ctx.stage.failed, writtenAt: now },
      );
      const result = await refuseWaiting(ctx, bundle, 'ERROR', reason, now);
      if (!result.applied) {
        await ctx.outbox.drop(key);
        return false;
      }
      await ctx.outbox.release(key);
    } finally {
      ctx.sender.settled(key);
    }
    this.requeuedUnderRun.delete(id);
    // The run that set it back may still be going: it ends here, with what it left.
    const previous = readString(bundle.submissionStatus, ANNOTATIONS.workflowJobId);
    if (previous !== undefined) {
      await cleanUpJob(ctx, previous, true);
      this.jobs.forget(previous);
    }
    submissionLogger(ctx.logger, { submissionId: id, evaluationId }).warn(
      'The submission was put back in the queue under its running workflow again; ended INVALID instead of running it again',
    );
    ctx.alerts.report({
      key: `requeue-loop:${evaluationId}`,
      subject: 'A workflow keeps putting its submission back in the queue',
      submissionId: id,
      body:
        `Submission ${id} (evaluation queue ${evaluationId}) was set back to ${ctx.stage.waiting} while its workflow ` +
        'was running, more than once: the workflow template changes the submission status itself, so each run ' +
        `started the next. It was ended ${ctx.stage.failed} instead of being run again. Remove the step that sets ` +
        'the status from the template (a workflow may annotate the submission, not change its status).',
    });
    return true;
  }

  /** The organizers hear once per queue that a status was changed under a run (see statusChangedUnderJob). */
  private reportStatusChangedUnderRun(
    jobName: string,
    submissionId: string,
    evaluationId: string,
    status: SubmissionStatus,
  ): void {
    this.ctx.alerts.report({
      key: `status-changed-while-running:${evaluationId}`,
      subject: 'A submission status was changed while its workflow ran',
      submissionId,
      body:
        `The status of submission ${submissionId} (evaluation queue ${evaluationId}) was changed to ${status.status} ` +
        `while its workflow (${jobName}) was still running, by the workflow itself or by someone else. ` +
        'The orchestrator keeps that status: the workflow is left to finish, then its log is uploaded and the ' +
        'participant told as usual. A workflow template must not change the submission status (it may annotate ' +
        'the submission): if this template does, remove that step.',
    });
  }

  /** Runs one submission's step; an error is logged for that submission only. */
  private async guard<T>(bundle: SubmissionBundle, step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (error) {
      submissionLogger(this.ctx.logger, {
        submissionId: bundle.submission.id,
        evaluationId: bundle.submission.evaluationId,
      }).error('Submission step failed; it will be retried next tick', { error: (error as Error).message });
      return undefined;
    }
  }
}
