/**
 * The WES backend: each workflow is a run on a GA4GH WES server (Toil's `toil server` is the reference; it
 * runs the workflows on Kubernetes, Slurm, LSF, AWS… or the server's own machine).
 *
 * The lifecycle knows a run by the job name it chose (`workflow_job.<uuid>`, the WorkflowJobId annotation);
 * the server names it `run-…` when it is created. The name travels as a tag on the run, so after a restart
 * the instance finds its runs again by listing them, and counts only runs tagged with its own id (a WES
 * server is often shared). WES cannot delete runs: a run this instance is done with is remembered as
 * removed (in its state directory), so it is not counted or looked at again.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from '../../logging/logger.js';
import {
  EngineUnavailableError,
  type EngineJob,
  type JobState,
  type LogLine,
  type RunRequest,
  type WorkflowEngine,
} from '../interfaces.js';
import { TERMINAL_STATES, WesClient, WesError, type RunLog, type WesRetry } from './client.js';
import { runForm, TAGS, tagsOf } from './run-form.js';
import {
  LineSplitter,
  lineIndexOf,
  lineTimestamp,
  outputSource,
  readSource,
  wesTimeMs,
} from './run-output.js';

export interface WesEngineOptions {
  /** WES_ENDPOINT, e.g. http://toil:8080/ga4gh/wes/v1. */
  endpoint: string;
  orchestratorId: string;
  logger: Logger;
  retry?: Partial<WesRetry>;
  /** Where the runs this instance is done with are remembered (default: remembered in memory only). */
  stateDir?: string;
  /** How often a followed run's output is read again (default 5 s). */
  pollMs?: number;
}

const REMOVED_FILE = 'wes-removed-runs.json';
/** A listing this recent answers lookups of unknown names (a tick asks about many jobs at once). */
const LISTING_REUSE_MS = 2_000;
/** Run logs read at once when finding out which runs are whose. */
const LOOKUP_CONCURRENCY = 4;
const DEFAULT_POLL_MS = 5_000;

interface TaggedRun {
  runId: string;
  state: string;
  tags: Record<string, string>;
}

export class WesEngine implements WorkflowEngine {
  readonly kind = 'wes' as const;
  readonly description: string;
  /** The template's files go in a folder of their own: they are sent as the run's attachments. */
  readonly templateDir = 'workflow';
  readonly client: WesClient;
  private readonly logger: Logger;
  /** Job name → run id, for this instance's runs. */
  private readonly runs = new Map<string, string>();
  /** Run id → its tags (a run's tags never change; runs of others are remembered too, as not ours). */
  private readonly tags = new Map<string, Record<string, string>>();
  private removed: Set<string> | undefined;
  private listing: { at: number; runs: Promise<TaggedRun[]> } | undefined;

  constructor(private readonly options: WesEngineOptions) {
    this.client = new WesClient(options.endpoint, options.retry);
    this.logger = options.logger;
    this.description = `the WES server at ${this.client.endpoint}`;
  }

  async ping(): Promise<void> {
    try {
      await this.client.serviceInfo();
    } catch (error) {
      throw this.unavailable(error, 'service-info');
    }
  }

  async start(request: RunRequest): Promise<string> {
    if (request.imageEvaluation !== undefined) {
      throw new Error(
        "This queue's template is an evaluation file for Docker-image submissions, which run on a Docker engine: use DOCKER_ENGINE_URL for this queue, not WES_ENDPOINT.",
      );
    }
    const form = await runForm(request);
    let runId: string;
    try {
      runId = await this.client.createRun(form);
    } catch (error) {
      if (error instanceof WesError && error.unavailable) throw this.unavailable(error, 'create the run');
      throw new Error(
        `${this.description} did not accept the run of ${request.name}: ${(error as Error).message}`,
      );
    }
    this.runs.set(request.name, runId);
    this.logger.info('started WES run', {
      job: request.name,
      runId,
      submissionId: request.identity.submissionId,
    });
    return request.name;
  }

  async state(name: string): Promise<JobState> {
    const runId = await this.runIdOf(name);
    if (runId === undefined) return { kind: 'missing' };
    let log: RunLog;
    try {
      log = await this.client.runLog(runId);
    } catch (error) {
      if (error instanceof WesError && error.status === 404) return { kind: 'missing' };
      throw this.unavailable(error, `read run ${runId}`);
    }
    return stateOf(log);
  }

  startCreated(name: string): Promise<void> {
    return Promise.reject(new Error(`WES run ${name} cannot be "created but not started"`));
  }

  /** WES offers no progress; the annotation stays as the workflow itself set it. */
  progress(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  /** Cancels the run and waits, at most the grace period, until the server says it ended. */
  async stop(name: string, graceSeconds = 60): Promise<void> {
    const runId = await this.runIdOf(name);
    if (runId === undefined) return;
    await this.cancel(runId);
    const deadline = Date.now() + graceSeconds * 1000;
    while (Date.now() < deadline) {
      const state = await this.client.status(runId).catch(() => undefined);
      if (state === undefined || TERMINAL_STATES.has(state)) return;
      await sleep(1_000);
    }
    this.logger.warn('WES run still not ended after cancel', { job: name, runId, graceSeconds });
  }

  /** WES cannot delete a run: an active one is cancelled, and the run is remembered as removed. */
  async remove(name: string): Promise<void> {
    const runId = await this.runIdOf(name);
    if (runId === undefined) return;
    const state = await this.client.status(runId).catch((error: unknown) => {
      if (error instanceof WesError && error.status === 404) return 'COMPLETE';
      throw this.unavailable(error, `read run ${runId}`);
    });
    if (!TERMINAL_STATES.has(state)) await this.cancel(runId);
    const removed = await this.removedRuns();
    removed.add(runId);
    await this.saveRemoved(removed);
    this.runs.delete(name);
  }

  async list(orchestratorId: string): Promise<EngineJob[]> {
    const runs = await this.listRuns(true);
    const removed = await this.removedRuns();
    return runs
      .filter((run) => run.tags[TAGS.orchestratorId] === orchestratorId && !removed.has(run.runId))
      .map((run) => ({
        name: run.tags[TAGS.workflowJobId] ?? run.runId,
        identity: {
          orchestratorId,
          submissionId: run.tags[TAGS.submissionId] ?? '',
          evaluationId: run.tags[TAGS.evaluationId] ?? '',
        },
        jobDir: undefined,
        running: !TERMINAL_STATES.has(run.state),
      }));
  }

  async *logs(name: string, options: { follow: boolean; since?: string }): AsyncIterable<LogLine> {
    const runId = await this.runIdOf(name);
    if (runId === undefined) return;
    const pollMs = this.options.pollMs ?? DEFAULT_POLL_MS;
    const stderr = { offset: 0, lines: new LineSplitter() };
    let index = 0;
    let skip: number | undefined;
    for (;;) {
      let log: RunLog;
      try {
        log = await this.client.runLog(runId);
      } catch (error) {
        if (error instanceof WesError && error.status === 404) return;
        throw this.unavailable(error, `read run ${runId}`);
      }
      const ended = TERMINAL_STATES.has(log.state ?? '');
      const base = wesTimeMs(log.run_log?.start_time);
      // The lines a restarted follower has. `since` came from lines read when the run had its start time
      // already (a run has no output before it starts), so the base is the same as then.
      skip ??= options.since === undefined ? 0 : lineIndexOf(base, options.since);
      const after = skip;
      const emit = (stream: 'stdout' | 'stderr', texts: string[]): LogLine[] => {
        const lines: LogLine[] = [];
        for (const text of texts) {
          index++;
          if (index > after) lines.push({ stream, text, timestamp: lineTimestamp(base, index) });
        }
        return lines;
      };

      const errSource = outputSource(this.client, runId, log.run_log?.stderr);
      if (errSource !== undefined) {
        const read = await readSource(this.client, errSource, stderr.offset);
        stderr.offset = read.next;
        yield* emit('stderr', stderr.lines.push(read.bytes));
      }
      if (ended) {
        yield* emit('stderr', stderr.lines.end());
        const outSource = outputSource(this.client, runId, log.run_log?.stdout);
        if (outSource !== undefined) {
          const out = new LineSplitter();
          const read = await readSource(this.client, outSource, 0);
          yield* emit('stdout', [...out.push(read.bytes), ...out.end()]);
        }
        return;
      }
      if (!options.follow) return;
      await sleep(pollMs);
    }
  }

  /** The run id of one of this instance's jobs, listing the server when the name is new to this process. */
  private async runIdOf(name: string): Promise<string | undefined> {
    const known = this.runs.get(name);
    if (known !== undefined) return known;
    await this.listRuns(false);
    return this.runs.get(name);
  }

  /** Every run of the server with its tags; this instance's runs are noted by job name. */
  private listRuns(fresh: boolean): Promise<TaggedRun[]> {
    const now = Date.now();
    if (!fresh && this.listing !== undefined && now - this.listing.at < LISTING_REUSE_MS)
      return this.listing.runs;
    const runs = this.readRuns();
    this.listing = { at: now, runs };
    runs.catch(() => {
      if (this.listing?.runs === runs) this.listing = undefined;
    });
    return runs;
  }

  private async readRuns(): Promise<TaggedRun[]> {
    let summaries;
    try {
      summaries = await this.client.listRuns();
    } catch (error) {
      throw this.unavailable(error, 'list runs');
    }
    const limit = pLimit(LOOKUP_CONCURRENCY);
    const removed = await this.removedRuns();
    const runs = await Promise.all(
      summaries.map((summary) =>
        limit(async (): Promise<TaggedRun> => {
          let tags = this.tags.get(summary.run_id);
          if (tags === undefined && !removed.has(summary.run_id)) {
            try {
              tags = tagsOf((await this.client.runLog(summary.run_id)).request?.tags);
              this.tags.set(summary.run_id, tags);
            } catch (error) {
              if (!(error instanceof WesError && error.status === 404))
                throw this.unavailable(error, 'read a run');
            }
          }
          return { runId: summary.run_id, state: summary.state, tags: tags ?? {} };
        }),
      ),
    );
    for (const run of runs) {
      const job = run.tags[TAGS.workflowJobId];
      if (
        run.tags[TAGS.orchestratorId] === this.options.orchestratorId &&
        job !== undefined &&
        !removed.has(run.runId)
      ) {
        this.runs.set(job, run.runId);
      }
    }
    // Runs the server no longer lists need not be remembered.
    const listed = new Set(summaries.map((s) => s.run_id));
    const kept = new Set([...removed].filter((id) => listed.has(id)));
    if (kept.size !== removed.size) await this.saveRemoved(kept);
    return runs;
  }

  private async cancel(runId: string): Promise<void> {
    try {
      await this.client.cancel(runId);
    } catch (error) {
      // 403: Toil's answer for a run that already failed; 404: no such run. Either way nothing runs.
      if (error instanceof WesError && (error.status === 403 || error.status === 404)) return;
      throw this.unavailable(error, `cancel run ${runId}`);
    }
  }

  private async removedRuns(): Promise<Set<string>> {
    if (this.removed !== undefined) return this.removed;
    let ids: string[] = [];
    if (this.options.stateDir !== undefined) {
      try {
        const parsed = JSON.parse(
          await readFile(join(this.options.stateDir, REMOVED_FILE), 'utf8'),
        ) as unknown;
        if (Array.isArray(parsed)) ids = parsed.filter((id): id is string => typeof id === 'string');
      } catch {
        // none yet, or unreadable: the runs are looked at once more, no harm
      }
    }
    this.removed ??= new Set(ids);
    return this.removed;
  }

  private async saveRemoved(removed: Set<string>): Promise<void> {
    this.removed = removed;
    if (this.options.stateDir === undefined) return;
    await mkdir(this.options.stateDir, { recursive: true });
    const path = join(this.options.stateDir, REMOVED_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify([...removed]));
    await rename(`${path}.tmp`, path);
  }

  /** An error that means "the server is not there now": the lifecycle waits instead of failing anything. */
  private unavailable(error: unknown, what: string): Error {
    if (error instanceof WesError && !error.unavailable) return error;
    if (error instanceof EngineUnavailableError) return error;
    return new EngineUnavailableError(
      `${this.description} does not answer (${what}): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A WES run state as the lifecycle's JobState. */
export function stateOf(log: RunLog): JobState {
  const state = log.state ?? 'UNKNOWN';
  const exitCode = log.run_log?.exit_code;
  const finishedAt = dateOf(log.run_log?.end_time);
  switch (state) {
    case 'RUNNING':
      return { kind: 'running', startedAt: dateOf(log.run_log?.start_time) };
    case 'COMPLETE':
      return { kind: 'exited', exitCode: 0, oomKilled: false, finishedAt };
    case 'EXECUTOR_ERROR':
      return { kind: 'exited', exitCode: failedCode(exitCode), oomKilled: false, finishedAt };
    case 'CANCELED':
      // Cancelled on the server's side (a stop of ours is known to the lifecycle already).
      return ended(log, 'the run was cancelled on the WES server');
    case 'SYSTEM_ERROR':
      return ended(log, 'the WES server reported a failure of its own (SYSTEM_ERROR), not of the workflow');
    case 'PREEMPTED':
      return ended(log, 'the WES server preempted the run');
    default:
      // QUEUED, INITIALIZING, PAUSED, CANCELING, UNKNOWN: not ended yet.
      return { kind: 'pending', neverStarted: false };
  }
}

function failedCode(exitCode: number | null | undefined): number {
  return typeof exitCode === 'number' && exitCode !== 0 ? exitCode : 1;
}

function ended(log: RunLog, engineEnded: string): JobState {
  return {
    kind: 'exited',
    exitCode: failedCode(log.run_log?.exit_code),
    oomKilled: false,
    finishedAt: dateOf(log.run_log?.end_time),
    engineEnded,
  };
}

function dateOf(value: string | null | undefined): Date | undefined {
  const ms = wesTimeMs(value);
  return ms === 0 ? undefined : new Date(ms);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
