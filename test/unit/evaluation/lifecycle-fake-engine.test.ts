/**
 * A submission's life as participants and organizers see it (status, annotations, messages, the stored
 * log), run by the production daemon against the embedded local platform, with an engine in memory
 * (test/support/fake-engine.ts) instead of Docker: fast, and scripted to the tick.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/config.js';
import { OrchestratorDaemon, type DaemonOptions } from '../../../src/daemon.js';
import { ANNOTATIONS, readNumber, readString } from '../../../src/evaluation/annotations.js';
import { FIRST_LOG_UPLOAD_AFTER_MS, PROGRESS_READ_INTERVAL_MS } from '../../../src/evaluation/monitor.js';
import type { TickSummary } from '../../../src/evaluation/orchestrator.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { JobState } from '../../../src/engine/interfaces.js';
import type { SubmissionStatus } from '../../../src/synapse/types.js';
import {
  FINAL,
  messagesAbout,
  readStoredLog,
  setUpChallenge,
  shellTool,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';
import { FAST_RETRY } from '../../support/platform.js';
import { FakeEngine } from '../../support/fake-engine.js';

/** One queue per test, so a test's daemon never sees another test's submissions. */
const QUEUES = 15;
const STOP_GRACE_SECONDS = 5;

let challenge: Challenge;
const workDirs: string[] = [];
const daemons: FakeDaemon[] = [];
let ids = 0;

interface FakeDaemon {
  daemon: OrchestratorDaemon;
  config: Config;
  workDir: string;
  /** The daemon's own log (JSON lines), shown when a test fails. */
  log: string[];
  /** One tick; its summary. */
  tick(): Promise<TickSummary>;
  /** Ticks until `done` holds (checked after each tick), then lets the outbox send; fails after `timeoutMs`. */
  tickUntil(
    done: () => Promise<boolean>,
    timeoutMs?: number,
    onTick?: (s: TickSummary) => void,
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The production daemon on queue `queue` of the challenge, with `engine` injected (RuntimeOptions.engine).
 * Pass `workDir` and ORCHESTRATOR_ID of an earlier daemon to play its restart.
 */
async function startDaemon(
  engine: FakeEngine,
  queue: number,
  env: Record<string, string> = {},
  workDir = mkdtempSync(join(tmpdir(), 'fake-engine-work-')),
  runtime: Pick<DaemonOptions, 'now'> = {},
): Promise<FakeDaemon> {
  workDirs.push(workDir);
  const target = challenge.queues[queue];
  if (target === undefined) throw new Error(`no queue ${queue}`);
  const { config } = loadConfig({
    envFile: '/nonexistent/.env',
    env: {
      SYNAPSE_ENDPOINT: challenge.tp.platform.url,
      SYNAPSE_PAT: challenge.tp.orchestrator.token,
      EVALUATION_TEMPLATES: JSON.stringify({ [target.evaluationId]: target.templateId }),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: challenge.outputRootId,
      // The configured mode; never reached, since the engine is injected.
      DOCKER_ENGINE_URL: 'unix:///nonexistent/docker.sock',
      ORCHESTRATOR_WORK_DIR: workDir,
      ORCHESTRATOR_ID: `fake-${process.pid}-${++ids}`,
      POLL_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'debug',
      STATUS_PORT: '0',
      ...env,
    },
  });
  const log: string[] = [];
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        log.push(chunk.toString());
        done();
      },
    }),
  });
  const daemon = await OrchestratorDaemon.create(config, logger, {
    engine,
    synapse: { retry: FAST_RETRY, messages: { windowMs: 2_000 } },
    stopGraceSeconds: STOP_GRACE_SECONDS,
    ...runtime,
  });
  daemon.startSending();
  const running: FakeDaemon = {
    daemon,
    config,
    workDir,
    log,
    tick: () => daemon.runOnce(),
    async tickUntil(done, timeoutMs = 15_000, onTick) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const summary = await daemon.runOnce();
        onTick?.(summary);
        if (await done()) {
          await daemon.settle(10_000);
          return;
        }
        if (Date.now() > deadline) throw new Error(`tickUntil: condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: () => daemon.stop(1_000),
  };
  daemons.push(running);
  onTestFailed(() => {
    console.log(`--- daemon ${config.orchestratorId} log (last 40 lines) ---\n${log.slice(-40).join('')}`);
  });
  return running;
}

beforeAll(async () => {
  const archive = await zipFiles({ 'wf.cwl': shellTool('echo never run by the fake engine') });
  challenge = await setUpChallenge(
    Array.from({ length: QUEUES }, () => ({ archive, rootTemplate: 'wf.cwl' })),
  );
}, 30_000);

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});

afterAll(async () => {
  // Not challenge.close(): that also sweeps Docker for containers, and these tests have none.
  await challenge.tp.close();
  for (const dir of [...workDirs, challenge.tp.dataDir]) rmSync(dir, { recursive: true, force: true });
});

const evaluationOf = (queue: number) => challenge.queues[queue]?.evaluationId ?? '';
const status = (id: string): Promise<SubmissionStatus> => statusOf(challenge, id);
const isFinal = async (id: string) => FINAL.has((await status(id)).status);
const jobOf = async (id: string) => readString(await status(id), ANNOTATIONS.workflowJobId);
/** Claimed and recorded as started (the log folder is on the status only once the run was started). */
const isRunning = async (id: string) => {
  const s = await status(id);
  return s.status === 'EVALUATION_IN_PROGRESS' && readString(s, ANNOTATIONS.submissionFolder) !== undefined;
};
const subjects = async (id: string) =>
  (await messagesAbout(challenge, id)).map((m) => (m.subject ?? '').replace(/:.*$/, ''));
const storedLog = async (id: string) => (await storedLogVersion(id))?.text;
/** The stored log file's current version and text (undefined while none was uploaded). */
const storedLogVersion = async (id: string) => {
  const s = await status(id);
  return readStoredLog(challenge, readString(s, ANNOTATIONS.submissionFolder) ?? '', id);
};

describe('the lifecycle against a fake engine', () => {
  it('exit 0: claimed, started with the prepared job directory, progress and log while running, ACCEPTED and told', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 0, { LOG_UPLOAD_INTERVAL_SECONDS: '1' });
    const id = await submitFile(challenge, evaluationOf(0));
    engine.scriptFor(id, { lines: ['hello from the workflow', 'stderr:a warning'], progress: 42.5 });

    await orchestrator.tickUntil(async () => {
      const s = await status(id);
      return (
        readNumber(s, ANNOTATIONS.progress) === 42.5 && readNumber(s, ANNOTATIONS.lastLogUpload) !== undefined
      );
    });
    const running = await status(id);
    expect(running.status).toBe('EVALUATION_IN_PROGRESS');
    expect(readString(running, ANNOTATIONS.orchestratorId)).toBe(orchestrator.config.orchestratorId);
    const name = readString(running, ANNOTATIONS.workflowJobId) ?? '';
    expect(name).toMatch(/^workflow_job\./);

    // What the lifecycle asked the engine for: one run, named as the status says, with SWO's inputs.
    expect(engine.requests).toHaveLength(1);
    const [request] = engine.requests;
    expect(request?.name).toBe(name);
    expect(request?.identity).toEqual({
      orchestratorId: orchestrator.config.orchestratorId,
      submissionId: id,
      evaluationId: evaluationOf(0),
    });
    expect(request?.templateDir).toBe('');
    expect(request?.rootTemplate).toBe('wf.cwl');
    expect(request?.jobFile).toBe('job.yaml');
    expect(request?.localDir).toBe(join(orchestrator.workDir, 'jobs', name.replace(/^workflow_job\./, '')));
    expect(request?.hostDir).toBe(request?.localDir); // the orchestrator runs on the host here
    const localDir = request?.localDir ?? '';
    expect(readFileSync(join(localDir, 'wf.cwl'), 'utf8')).toContain('never run by the fake engine');
    const jobFile = parse(readFileSync(join(localDir, 'job.yaml'), 'utf8')) as Record<string, unknown>;
    expect(jobFile.submissionId).toBe(Number(id));
    expect(jobFile.workflowSynapseId).toBe(challenge.queues[0]?.templateId);
    expect(request?.inputs).toMatchObject({ submissionId: Number(id), synapseConfig: { class: 'File' } });
    expect(await storedLog(id)).toContain('hello from the workflow');

    engine.print(name, 'THE-LAST-LINE');
    engine.finish(name, 0);
    await orchestrator.tickUntil(() => isFinal(id));
    const final = await status(id);
    expect(final.status).toBe('ACCEPTED');
    expect(readString(final, ANNOTATIONS.statusDescription)).toBe('DONE');
    expect(readString(final, ANNOTATIONS.failureReason)).toBeUndefined();
    expect(await subjects(id)).toEqual([`Submission ${id} is being evaluated`, `Submission ${id} finished`]);
    const log = (await storedLog(id)) ?? '';
    expect(log).toMatch(/^STDOUT \S+ hello from the workflow$/m);
    expect(log).toMatch(/^STDERR \S+ a warning$/m);
    expect(log).toMatch(/^STDOUT \S+ THE-LAST-LINE$/m);
    // Nothing left: the run removed from the engine, the job directory gone, never a stop.
    expect(engine.callsTo('remove', name)).not.toHaveLength(0);
    expect(engine.runs.has(name)).toBe(false);
    expect(engine.callsTo('stop')).toEqual([]);
    expect(existsSync(localDir)).toBe(false);
  });

  it("a backend's templateDir: the template's files go there and the request names it", async () => {
    const engine = new FakeEngine({ templateDir: 'template', defaultScript: { exitAfterStates: 2 } });
    const orchestrator = await startDaemon(engine, 1);
    const id = await submitFile(challenge, evaluationOf(1));
    let seen = false;
    await orchestrator.tickUntil(
      () => isFinal(id),
      15_000,
      () => {
        const request = engine.requests[0];
        if (request !== undefined && existsSync(join(request.localDir, 'template', 'wf.cwl'))) seen = true;
      },
    );
    expect(seen).toBe(true);
    expect(engine.requests[0]?.templateDir).toBe('template');
    expect((await status(id)).status).toBe('ACCEPTED');
  });

  it('exit 1: INVALID, ERROR, the exit code as the failure reason, and the participant told it failed', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 2);
    const id = await submitFile(challenge, evaluationOf(2));
    engine.scriptFor(id, { lines: ['stderr:something broke'], exitAfterStates: 2, exitCode: 1 });
    await orchestrator.tickUntil(() => isFinal(id));
    const final = await status(id);
    expect(final.status).toBe('INVALID');
    expect(readString(final, ANNOTATIONS.statusDescription)).toBe('ERROR');
    expect(readString(final, ANNOTATIONS.failureReason)).toMatch(
      /^The workflow exited with code 1 \(the workflow reported an error\)\./,
    );
    expect(await subjects(id)).toEqual([`Submission ${id} is being evaluated`, `Submission ${id} failed`]);
    expect(await storedLog(id)).toContain('something broke');
    expect(engine.callsTo('stop')).toEqual([]);
  });

  it('cancel while running: the engine is asked to stop it, INVALID "STOPPED UPON REQUEST"', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 3);
    const id = await submitFile(challenge, evaluationOf(3));
    await orchestrator.tickUntil(() => isRunning(id));
    const name = (await jobOf(id)) ?? '';
    await challenge.tp.admin.requestCancel(id);
    await orchestrator.tickUntil(() => isFinal(id));

    const stops = engine.callsTo('stop', name);
    expect(stops).toHaveLength(1);
    expect(stops[0]?.args[1]).toBe(STOP_GRACE_SECONDS);
    const final = await status(id);
    expect(final.status).toBe('INVALID');
    expect(readString(final, ANNOTATIONS.statusDescription)).toBe('STOPPED UPON REQUEST');
    expect(readString(final, ANNOTATIONS.failureReason)).toBe(
      'Stopped on request: the submission was cancelled.',
    );
    expect(await subjects(id)).toEqual([
      `Submission ${id} is being evaluated`,
      `Submission ${id} was stopped`,
    ]);
    expect(engine.runs.has(name)).toBe(false);
  });

  it('MAX_RUNTIME_SECONDS: a run longer than the limit is stopped and ends INVALID, timed out', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 4, { MAX_RUNTIME_SECONDS: '2' });
    const id = await submitFile(challenge, evaluationOf(4));
    await orchestrator.tickUntil(() => isRunning(id));
    const name = (await jobOf(id)) ?? '';
    const started = Date.now();
    await orchestrator.tickUntil(() => isFinal(id));
    expect(Date.now() - started).toBeLessThan(10_000);

    expect(engine.callsTo('stop', name)).toHaveLength(1);
    expect(engine.run.bind(engine, name)).toThrow(); // removed after the stop
    const final = await status(id);
    expect(final.status).toBe('INVALID');
    expect(readString(final, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    expect(readString(final, ANNOTATIONS.failureReason)).toBe(
      'Stopped: it ran longer than the time limit of 2 seconds.',
    );
    expect(await subjects(id)).toEqual([
      `Submission ${id} is being evaluated`,
      `Submission ${id} ran out of time`,
    ]);
  });

  it('the engine not answering: submissions wait (nothing INVALID), and finish once it answers again', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 5);
    const first = await submitFile(challenge, evaluationOf(5));
    await orchestrator.tickUntil(() => isRunning(first));
    const firstJob = (await jobOf(first)) ?? '';

    engine.setAvailable(false);
    const second = await submitFile(challenge, evaluationOf(5));
    engine.finish(firstJob, 0); // it ends while nobody can see it
    const startsBefore = engine.requests.length;
    for (let i = 0; i < 4; i++) {
      const summary = await orchestrator.tick();
      expect(summary).toMatchObject({ started: 0, finished: 0 });
    }
    expect((await status(first)).status).toBe('EVALUATION_IN_PROGRESS');
    expect(await jobOf(first)).toBe(firstJob);
    expect((await status(second)).status).toBe('RECEIVED');
    expect(engine.requests).toHaveLength(startsBefore);

    engine.setAvailable(true);
    engine.scriptFor(second, { exitAfterStates: 1 });
    await orchestrator.tickUntil(async () => (await isFinal(first)) && (await isFinal(second)));
    expect((await status(first)).status).toBe('ACCEPTED');
    expect((await status(second)).status).toBe('ACCEPTED');
    expect(await subjects(first)).toEqual([
      `Submission ${first} is being evaluated`,
      `Submission ${first} finished`,
    ]);
  });

  it('the engine going down as a run starts: the claim waits, goes back to the queue, and runs once the engine is back', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 6);
    const id = await submitFile(challenge, evaluationOf(6));
    engine.scriptFor(id, { unavailableAtStart: true, exitAfterStates: 1 });
    await orchestrator.tickUntil(async () => engine.requests.length === 1);
    const claimedAs = await jobOf(id);
    for (let i = 0; i < 3; i++) await orchestrator.tick();
    expect((await status(id)).status).toBe('EVALUATION_IN_PROGRESS');
    expect(await jobOf(id)).toBe(claimedAs);

    engine.setAvailable(true);
    await orchestrator.tickUntil(() => isFinal(id));
    expect((await status(id)).status).toBe('ACCEPTED');
    // Started again under a new name; the participant heard of one run only.
    expect(engine.requests).toHaveLength(2);
    expect(engine.requests[1]?.name).not.toBe(engine.requests[0]?.name);
    expect(await subjects(id)).toEqual([`Submission ${id} is being evaluated`, `Submission ${id} finished`]);
  });

  it("MAX_CONCURRENT_WORKFLOWS counts the engine's running jobs: the rest wait until one ends", async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 7, { MAX_CONCURRENT_WORKFLOWS: '2' });
    const evaluationId = evaluationOf(7);
    const id = [
      await submitFile(challenge, evaluationId),
      await submitFile(challenge, evaluationId),
      await submitFile(challenge, evaluationId),
    ];
    let most = 0;
    const countRunning = () => {
      most = Math.max(most, [...engine.runs.values()].filter((run) => run.status === 'running').length);
    };
    await orchestrator.tickUntil(async () => engine.requests.length >= 2, 15_000, countRunning);
    let deferred = 0;
    for (let i = 0; i < 3; i++) {
      const summary = await orchestrator.tick();
      countRunning();
      deferred = summary.deferred;
    }
    expect(deferred).toBe(1);
    expect(engine.requests).toHaveLength(2);
    const started = engine.requests.map((r) => r.identity.submissionId);
    const waiting = id.filter((s) => !started.includes(s));
    expect(waiting).toHaveLength(1);
    expect((await status(waiting[0] ?? '')).status).toBe('RECEIVED');
    // Each tick asked the engine what runs (by this instance's label).
    expect(engine.callsTo('list').at(-1)?.args).toEqual([orchestrator.config.orchestratorId]);

    engine.finish(engine.requests[0]?.name ?? '', 0);
    await orchestrator.tickUntil(() => isRunning(waiting[0] ?? ''), 15_000, countRunning);
    expect(engine.requests).toHaveLength(3);
    for (const run of engine.runs.values()) if (run.status === 'running') engine.finish(run.name, 0);
    await orchestrator.tickUntil(async () => (await Promise.all(id.map(isFinal))).every(Boolean));
    expect(most).toBe(2);
    for (const s of id) expect((await status(s)).status).toBe('ACCEPTED');
  });

  it('a restart (new daemon, same work directory) adopts the running job instead of starting it again', async () => {
    const engine = new FakeEngine();
    const env = { MAX_CONCURRENT_WORKFLOWS: '1', ORCHESTRATOR_ID: `fake-restart-${process.pid}` };
    const before = await startDaemon(engine, 8, env);
    const first = await submitFile(challenge, evaluationOf(8));
    engine.scriptFor(first, { lines: ['before the restart'] });
    await before.tickUntil(() => isRunning(first));
    const name = (await jobOf(first)) ?? '';
    await before.stop();

    const second = await submitFile(challenge, evaluationOf(8));
    engine.print(name, 'while no daemon ran');
    const after = await startDaemon(engine, 8, env, before.workDir);
    for (let i = 0; i < 3; i++) await after.tick();
    // Adopted: still the same run, not started again, and it still fills the one slot.
    expect(engine.requests.map((r) => r.name)).toEqual([name]);
    expect(await jobOf(first)).toBe(name);
    expect((await status(first)).status).toBe('EVALUATION_IN_PROGRESS');
    expect((await status(second)).status).toBe('RECEIVED');

    engine.print(name, 'after the restart');
    engine.finish(name, 0);
    engine.scriptFor(second, { exitAfterStates: 1 });
    await after.tickUntil(async () => (await isFinal(first)) && (await isFinal(second)));
    expect((await status(first)).status).toBe('ACCEPTED');
    expect((await status(second)).status).toBe('ACCEPTED');
    expect(engine.requests).toHaveLength(2);
    expect(engine.callsTo('startCreated')).toEqual([]);
    // One "started" message, and one log holding every line once, whichever daemon followed it.
    expect(await subjects(first)).toEqual([
      `Submission ${first} is being evaluated`,
      `Submission ${first} finished`,
    ]);
    const log = (await storedLog(first)) ?? '';
    for (const line of ['before the restart', 'while no daemon ran', 'after the restart']) {
      expect(log.split('\n').filter((l) => l.endsWith(` ${line}`))).toHaveLength(1);
    }
  });
  it('a job that ends within FIRST_LOG_UPLOAD_AFTER_MS gets its final log only: one version of the log file, every line', async () => {
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 10);
    const id = await submitFile(challenge, evaluationOf(10));
    engine.scriptFor(id, { lines: ['first line'] });
    await orchestrator.tickUntil(() => isRunning(id));
    // Looked at while it runs (an upload then would be a version without the last line)…
    for (let i = 0; i < 2; i++) await orchestrator.tick();
    const name = engine.runOf(id)?.name ?? '';
    expect(engine.callsTo('state', name).length).toBeGreaterThanOrEqual(2);
    // …then it prints its last line and ends, seconds after it started.
    engine.print(name, 'THE-LAST-LINE');
    engine.finish(name, 0);
    await orchestrator.tickUntil(() => isFinal(id));
    const final = await status(id);
    expect(final.status).toBe('ACCEPTED');
    expect(readNumber(final, ANNOTATIONS.lastLogUpload)).toBeDefined();
    const stored = await storedLogVersion(id);
    expect(stored?.version).toBe(1);
    expect(stored?.text).toContain('first line');
    expect(stored?.text).toContain('THE-LAST-LINE');
    // The participant hears as before: "started", then "finished".
    expect(await subjects(id)).toEqual([`Submission ${id} is being evaluated`, `Submission ${id} finished`]);
  });

  it('a running job: the log is first uploaded once it has run FIRST_LOG_UPLOAD_AFTER_MS, then again at the end', async () => {
    // The daemon's clock runs (the outbox paces messages by it), ahead of the real one by `skipped`.
    let skipped = 0;
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 11, {}, undefined, { now: () => Date.now() + skipped });
    const id = await submitFile(challenge, evaluationOf(11));
    engine.scriptFor(id, { lines: ['early output'] });
    await orchestrator.tickUntil(() => isRunning(id));
    for (let i = 0; i < 3; i++) await orchestrator.tick();
    expect(await storedLogVersion(id)).toBeUndefined();
    expect(readNumber(await status(id), ANNOTATIONS.lastLogUpload)).toBeUndefined();

    skipped += FIRST_LOG_UPLOAD_AFTER_MS;
    await orchestrator.tickUntil(
      async () => readNumber(await status(id), ANNOTATIONS.lastLogUpload) !== undefined,
    );
    const early = await storedLogVersion(id);
    expect(early?.version).toBe(1);
    expect(early?.text).toContain('early output');

    const name = engine.runOf(id)?.name ?? '';
    engine.print(name, 'THE-LAST-LINE');
    engine.finish(name, 0);
    await orchestrator.tickUntil(() => isFinal(id));
    const final = await storedLogVersion(id);
    expect(final?.version).toBe(2);
    expect(final?.text).toContain('THE-LAST-LINE');
  });

  it("the final status written after an organizer's edit (made after the tick's listing) keeps the organizer's annotation", async () => {
    // The organizer writes as the job's exit is seen, after the tick read the running submissions: the
    // final write's etag (from that listing) is stale, so it is refused, and the status read and merged.
    let editOnExit: string | undefined;
    class EditingEngine extends FakeEngine {
      override async state(name: string): Promise<JobState> {
        const state = await super.state(name);
        if (state.kind === 'exited' && editOnExit !== undefined) {
          const submissionId = editOnExit;
          editOnExit = undefined;
          await challenge.client.evaluations.updateStatus(submissionId, {
            set: [{ key: 'organizer_note', type: 'STRING', value: 'checked by hand', isPrivate: false }],
          });
        }
        return state;
      }
    }
    const engine = new EditingEngine();
    const orchestrator = await startDaemon(engine, 12);
    const id = await submitFile(challenge, evaluationOf(12));
    engine.scriptFor(id, { lines: ['some output'] });
    await orchestrator.tickUntil(() => isRunning(id));
    editOnExit = id;
    engine.finish(engine.runOf(id)?.name ?? '', 0);
    await orchestrator.tickUntil(() => isFinal(id));
    expect(editOnExit).toBeUndefined(); // the edit was made
    const final = await status(id);
    expect(final.status).toBe('ACCEPTED');
    expect(readString(final, 'organizer_note')).toBe('checked by hand');
    expect(final.submissionAnnotations?.annotations.organizer_note).toEqual({
      type: 'STRING',
      value: ['checked by hand'],
    });
    expect(readString(final, ANNOTATIONS.statusDescription)).toBe('DONE');
    expect(await subjects(id)).toEqual([`Submission ${id} is being evaluated`, `Submission ${id} finished`]);
  });

  it('progress is read at the first look, then at most every PROGRESS_READ_INTERVAL_MS (each read runs a command in the engine container)', async () => {
    let now = Date.now();
    const engine = new FakeEngine();
    const orchestrator = await startDaemon(engine, 9, {}, undefined, { now: () => now });
    const id = await submitFile(challenge, evaluationOf(9));
    engine.scriptFor(id, { progress: 10 });
    await orchestrator.tickUntil(async () => readNumber(await status(id), ANNOTATIONS.progress) === 10);
    const reads = () => engine.calls.filter((call) => call.method === 'progress').length;
    expect(reads()).toBe(1);

    const name = engine.runOf(id)?.name ?? '';
    engine.setProgress(name, 20);
    await orchestrator.tick();
    await orchestrator.tick();
    expect(reads()).toBe(1);
    expect(readNumber(await status(id), ANNOTATIONS.progress)).toBe(10);

    now += PROGRESS_READ_INTERVAL_MS;
    await orchestrator.tickUntil(async () => readNumber(await status(id), ANNOTATIONS.progress) === 20);
    expect(reads()).toBe(2);

    engine.finish(name, 0);
    await orchestrator.tickUntil(async () => (await status(id)).status === 'ACCEPTED');
  });

  it.each([
    {
      engine: 'docker' as const,
      queue: 13,
      reason: "The workflow's container disappeared before it finished (the organizers have been told).",
      alert: /The workflow's container was gone before the job finished/,
    },
    {
      engine: 'wes' as const,
      queue: 14,
      reason:
        "The workflow's run disappeared from the WES server before it finished (the organizers have been told).",
      alert: /The WES server no longer knows the workflow run of this submission/,
    },
  ])(
    'a run that vanishes from the engine ($engine): INVALID, ERROR, a reason naming what vanished, the organizers told once',
    async ({ engine: kind, queue, reason, alert }) => {
      const engine = new FakeEngine({ kind });
      const orchestrator = await startDaemon(engine, queue);
      const id = await submitFile(challenge, evaluationOf(queue));
      await orchestrator.tickUntil(() => isRunning(id));
      const name = (await jobOf(id)) ?? '';
      engine.vanish(name);
      await orchestrator.tickUntil(() => isFinal(id));
      const final = await status(id);
      expect(final.status).toBe('INVALID');
      expect(readString(final, ANNOTATIONS.statusDescription)).toBe('ERROR');
      expect(readString(final, ANNOTATIONS.failureReason)).toBe(reason);
      const alerts = (await challenge.tp.admin.messages()).filter(
        (m) => m.subject === 'Submission Pipeline Failed' && m.body.startsWith(`Submission ${id} `),
      );
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.body).toMatch(alert);
      expect(engine.callsTo('start')).toHaveLength(1);
    },
    30_000,
  );
});
