/** WesEngine against a stand-in Toil WES server: states, listing by tags, remove/stop, logs, outages. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EngineUnavailableError,
  type LogLine,
  type RunRequest,
  type WorkflowEngine,
} from '../../../../src/engine/interfaces.js';
import type { WesRetry } from '../../../../src/engine/wes/client.js';
import { WesEngine, type WesEngineOptions } from '../../../../src/engine/wes/engine.js';
import { lineTimestamp, wesTimeMs } from '../../../../src/engine/wes/run-output.js';
import { createLogger } from '../../../../src/logging/logger.js';
import { FakeWes, type FakeRun } from './fake-wes.js';

const ME = 'orchestrator-a';
const QUICK: Partial<WesRetry> = {
  maxAttempts: 2,
  initialDelayMs: 10,
  maxDelayMs: 20,
  requestTimeoutMs: 2_000,
};
const TOIL_START = '2026-12-07T04:43:22.088304';
const TOIL_END = '2026-12-07T04:45:01.5';
const BASE = wesTimeMs(TOIL_START);

const logger = createLogger({
  level: 'error',
  format: 'json',
  stream: new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  }),
});

/** The engine as the lifecycle sees it. */
function engineOn(fake: FakeWes, options: Partial<WesEngineOptions> = {}): WorkflowEngine {
  return new WesEngine({
    endpoint: fake.endpoint,
    orchestratorId: ME,
    logger,
    retry: QUICK,
    pollMs: 20,
    ...options,
  });
}

/** The tags the engine puts on the run of `job`. */
function tagsOf(job: string, orchestratorId = ME): Record<string, string> {
  return {
    synapse_orchestrator_id: orchestratorId,
    synapse_workflow_job_id: job,
    synapse_submission_id: `sub-${job}`,
    synapse_evaluation_id: '9615001',
  };
}

/** A run of this instance, as Toil shows it. */
function ours(job: string, run: Partial<FakeRun> = {}): FakeRun {
  return { state: 'RUNNING', tags: tagsOf(job), startTime: TOIL_START, ...run };
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** Lines as the log file shows them, with the line number their timestamp stands for. */
function numbered(lines: LogLine[]): string[] {
  return lines.map((line) => {
    for (let index = 1; index < 100; index++) {
      if (lineTimestamp(BASE, index) === line.timestamp) return `${index} ${line.stream} ${line.text}`;
    }
    return `? ${line.stream} ${line.text} (${line.timestamp})`;
  });
}

let fake: FakeWes;
let stateDir: string;
beforeEach(async () => {
  fake = await FakeWes.start();
  stateDir = mkdtempSync(join(tmpdir(), 'wes-state-'));
});
afterEach(async () => {
  await fake.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('WesEngine.state', () => {
  const FINISHED = new Date(Date.UTC(2026, 11, 7, 4, 45, 1, 500));
  const cases: [string, Partial<FakeRun>, unknown][] = [
    ['RUNNING', {}, { kind: 'running', startedAt: new Date(BASE) }],
    ['QUEUED', { startTime: null }, { kind: 'pending', neverStarted: false }],
    ['INITIALIZING', {}, { kind: 'pending', neverStarted: false }],
    ['PAUSED', {}, { kind: 'pending', neverStarted: false }],
    ['CANCELING', {}, { kind: 'pending', neverStarted: false }],
    ['UNKNOWN', {}, { kind: 'pending', neverStarted: false }],
    [
      'COMPLETE',
      { exitCode: 0, endTime: TOIL_END },
      { kind: 'exited', exitCode: 0, oomKilled: false, finishedAt: FINISHED },
    ],
    [
      'EXECUTOR_ERROR',
      { exitCode: 3, endTime: TOIL_END },
      { kind: 'exited', exitCode: 3, oomKilled: false, finishedAt: FINISHED },
    ],
    ['EXECUTOR_ERROR', {}, { kind: 'exited', exitCode: 1, oomKilled: false, finishedAt: undefined }],
    [
      'EXECUTOR_ERROR',
      { exitCode: 0 },
      { kind: 'exited', exitCode: 1, oomKilled: false, finishedAt: undefined },
    ],
    [
      'SYSTEM_ERROR',
      { endTime: TOIL_END },
      {
        kind: 'exited',
        exitCode: 1,
        oomKilled: false,
        finishedAt: FINISHED,
        engineEnded: expect.stringContaining('SYSTEM_ERROR') as unknown,
      },
    ],
    [
      'PREEMPTED',
      { exitCode: 137 },
      {
        kind: 'exited',
        exitCode: 137,
        oomKilled: false,
        finishedAt: undefined,
        engineEnded: expect.stringContaining('preempted') as unknown,
      },
    ],
    [
      'CANCELED',
      {},
      {
        kind: 'exited',
        exitCode: 1,
        oomKilled: false,
        finishedAt: undefined,
        engineEnded: expect.stringContaining('cancelled on the WES server') as unknown,
      },
    ],
  ];

  it.each(cases.map((c, i) => [i, ...c] as const))('#%i %s %j', async (i, state, run, expected) => {
    fake.add(`run-${i}`, ours(`workflow_job.${i}`, { state, ...run }));
    fake.add('run-other', { state: 'RUNNING', tags: tagsOf(`workflow_job.${i}`, 'someone-else') });
    expect(await engineOn(fake).state(`workflow_job.${i}`)).toEqual(expected);
  });

  it('says `missing` for a job name the server has no run of (or only of another instance)', async () => {
    fake.add('run-1', ours('workflow_job.1'));
    fake.add('run-2', { state: 'RUNNING', tags: tagsOf('workflow_job.2', 'someone-else') });
    const engine = engineOn(fake);
    expect(await engine.state('workflow_job.unknown')).toEqual({ kind: 'missing' });
    expect(await engine.state('workflow_job.2')).toEqual({ kind: 'missing' });
    expect((await engine.state('workflow_job.1')).kind).toBe('running');
  });

  it('says `missing` once the server has forgotten a run it knew', async () => {
    fake.add('run-1', ours('workflow_job.1'));
    const engine = engineOn(fake);
    expect((await engine.state('workflow_job.1')).kind).toBe('running');
    fake.runs.delete('run-1');
    expect(await engine.state('workflow_job.1')).toEqual({ kind: 'missing' });
  });
});

describe('WesEngine.list', () => {
  it("lists this instance's runs by their job tag, running until the state is terminal", async () => {
    fake.add('run-1', ours('workflow_job.a', { state: 'RUNNING' }));
    fake.add('run-2', ours('workflow_job.b', { state: 'COMPLETE' }));
    fake.add('run-3', ours('workflow_job.c', { state: 'QUEUED' }));
    fake.add('run-4', ours('workflow_job.d', { state: 'EXECUTOR_ERROR' }));
    fake.add('run-5', ours('workflow_job.e', { state: 'CANCELING' }));
    fake.add('run-6', ours('workflow_job.f', { state: 'CANCELED' }));
    fake.add('run-7', { state: 'RUNNING', tags: tagsOf('workflow_job.x', 'someone-else') });
    fake.add('run-8', { state: 'RUNNING', tags: {} });
    fake.add('run-9', { state: 'RUNNING' });
    // Some servers echo the tags back as the JSON string they were sent as.
    fake.add('run-10', { state: 'SYSTEM_ERROR', tags: JSON.stringify(tagsOf('workflow_job.g')) });
    const jobs = await engineOn(fake).list(ME);
    expect(jobs.map((job) => [job.name, job.running])).toEqual([
      ['workflow_job.a', true],
      ['workflow_job.b', false],
      ['workflow_job.c', true],
      ['workflow_job.d', false],
      ['workflow_job.e', true],
      ['workflow_job.f', false],
      ['workflow_job.g', false],
    ]);
    expect(jobs[0]).toEqual({
      name: 'workflow_job.a',
      identity: { orchestratorId: ME, submissionId: 'sub-workflow_job.a', evaluationId: '9615001' },
      jobDir: undefined,
      running: true,
    });
  });

  it('lists each run once on a server that ignores page_token', async () => {
    await fake.stop();
    fake = await FakeWes.start({ listStyle: 'stuck' });
    fake.add('run-1', ours('workflow_job.a'));
    fake.add('run-2', ours('workflow_job.b', { state: 'COMPLETE' }));
    const jobs = await engineOn(fake).list(ME);
    expect(jobs.map((job) => job.name)).toEqual(['workflow_job.a', 'workflow_job.b']);
  });

  it('reads each run log once, not at every listing (tags never change)', async () => {
    fake.add('run-1', ours('workflow_job.a'));
    fake.add('run-2', { state: 'RUNNING', tags: tagsOf('workflow_job.x', 'someone-else') });
    const engine = engineOn(fake);
    await engine.list(ME);
    await engine.list(ME);
    expect(fake.count('GET', '/runs/')).toBe(2);
    expect(fake.count('GET', '/runs')).toBe(4);
  });
});

describe('WesEngine.remove', () => {
  it('cancels a running run and no longer lists it, also after a restart (persisted)', async () => {
    fake.add('run-1', ours('workflow_job.a'));
    fake.add('run-2', ours('workflow_job.b'));
    const engine = engineOn(fake, { stateDir });
    expect((await engine.list(ME)).map((job) => job.name)).toEqual(['workflow_job.a', 'workflow_job.b']);
    await engine.remove('workflow_job.a', undefined);
    expect(fake.count('POST', '/runs/run-1/cancel')).toBe(1);
    expect(fake.runs.get('run-1')?.state).toBe('CANCELING');
    expect((await engine.list(ME)).map((job) => job.name)).toEqual(['workflow_job.b']);
    expect(await engine.state('workflow_job.a')).toEqual({ kind: 'missing' });

    const restarted = engineOn(fake, { stateDir });
    expect((await restarted.list(ME)).map((job) => job.name)).toEqual(['workflow_job.b']);
    expect(await restarted.state('workflow_job.a')).toEqual({ kind: 'missing' });
    // Still known to the server: nothing to cancel again.
    expect(fake.count('POST', '/runs/run-1/cancel')).toBe(1);
  });

  it('does not cancel an ended run, and is idempotent', async () => {
    fake.add('run-1', ours('workflow_job.a', { state: 'EXECUTOR_ERROR' }));
    const engine = engineOn(fake, { stateDir });
    await engine.remove('workflow_job.a', undefined);
    await engine.remove('workflow_job.a', undefined);
    await engine.remove('workflow_job.never', undefined);
    expect(fake.count('POST', '/runs/run-1/cancel')).toBe(0);
    expect(await engine.list(ME)).toEqual([]);
  });

  it('forgets a removed run once the server no longer lists it', async () => {
    fake.add('run-1', ours('workflow_job.a', { state: 'COMPLETE' }));
    fake.add('run-2', ours('workflow_job.b', { state: 'COMPLETE' }));
    const engine = engineOn(fake, { stateDir });
    await engine.remove('workflow_job.a', undefined);
    await engine.remove('workflow_job.b', undefined);
    const file = join(stateDir, 'wes-removed-runs.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(['run-1', 'run-2']);
    fake.runs.delete('run-1');
    await engine.list(ME);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(['run-2']);
  });

  it('keeps removed runs in memory without a stateDir', async () => {
    fake.add('run-1', ours('workflow_job.a'));
    const engine = engineOn(fake);
    await engine.remove('workflow_job.a', undefined);
    expect(await engine.list(ME)).toEqual([]);
    expect(existsSync(join(stateDir, 'wes-removed-runs.json'))).toBe(false);
  });
});

describe('WesEngine.stop', () => {
  it('cancels the run and returns once the server says it ended', async () => {
    fake.add('run-1', ours('workflow_job.a'));
    const engine = engineOn(fake);
    await engine.stop('workflow_job.a', 10);
    expect(fake.count('POST', '/runs/run-1/cancel')).toBe(1);
    // CANCELING first, then CANCELED: stop() waited for the second.
    expect(fake.count('GET', '/runs/run-1/status')).toBe(2);
    expect(fake.runs.get('run-1')?.state).toBe('CANCELED');
  });

  it('takes a 403 on cancel (a run that already failed) as stopped', async () => {
    fake.add('run-1', ours('workflow_job.a', { state: 'SYSTEM_ERROR' }));
    const engine = engineOn(fake);
    await expect(engine.stop('workflow_job.a', 10)).resolves.toBeUndefined();
    expect(fake.requests.filter((r) => r.url.endsWith('/cancel'))).toHaveLength(1);
    expect(fake.count('GET', '/runs/run-1/status')).toBe(1);
  });

  it('does nothing for a job the server has no run of', async () => {
    const engine = engineOn(fake);
    await engine.stop('workflow_job.none', 10);
    expect(fake.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('WesEngine.logs', () => {
  const STDOUT = '{\n  "score": 0.93\n}\n';

  it('gives stderr, then for an ended run stdout, each line with its timestamp', async () => {
    fake.add('run-1', ours('workflow_job.a', { state: 'COMPLETE', stderr: 'e1\r\ne2\ne3', stdout: STDOUT }));
    const lines = await collect(engineOn(fake).logs('workflow_job.a', { follow: false }));
    expect(lines).toEqual([
      { stream: 'stderr', text: 'e1', timestamp: lineTimestamp(BASE, 1) },
      { stream: 'stderr', text: 'e2', timestamp: lineTimestamp(BASE, 2) },
      { stream: 'stderr', text: 'e3', timestamp: lineTimestamp(BASE, 3) },
      { stream: 'stdout', text: '{', timestamp: lineTimestamp(BASE, 4) },
      { stream: 'stdout', text: '  "score": 0.93', timestamp: lineTimestamp(BASE, 5) },
      { stream: 'stdout', text: '}', timestamp: lineTimestamp(BASE, 6) },
    ]);
    expect(lines[0]?.timestamp).toBe('2026-12-07T04:43:22.088000001Z');
  });

  it('gives the complete stderr lines of a running run, and no stdout yet', async () => {
    fake.add('run-1', ours('workflow_job.a', { stderr: 'a\nb\nunfinished', stdout: 'not yet\n' }));
    const lines = await collect(engineOn(fake).logs('workflow_job.a', { follow: false }));
    expect(numbered(lines)).toEqual(['1 stderr a', '2 stderr b']);
  });

  it('skips lines up to `since`, the timestamp of a line it gave', async () => {
    fake.add(
      'run-1',
      ours('workflow_job.a', { state: 'EXECUTOR_ERROR', stderr: 'e1\ne2\ne3\n', stdout: STDOUT }),
    );
    const engine = engineOn(fake);
    const all = await collect(engine.logs('workflow_job.a', { follow: false }));
    const since = all[1]?.timestamp ?? '';
    const rest = await collect(engine.logs('workflow_job.a', { follow: false, since }));
    expect(numbered(rest)).toEqual(['3 stderr e3', '4 stdout {', '5 stdout   "score": 0.93', '6 stdout }']);
    expect(rest).toEqual(all.slice(2));
    const none = await collect(
      engine.logs('workflow_job.a', { follow: false, since: all.at(-1)?.timestamp }),
    );
    expect(none).toEqual([]);
  });

  it.each([true, false])(
    'follows a run until it ends, each line once (server honours Range: %s)',
    async (honourRange) => {
      await fake.stop();
      fake = await FakeWes.start({ honourRange });
      const run = fake.add('run-1', ours('workflow_job.a', { stderr: 'a\nb\npar' }));
      const engine = engineOn(fake);
      // The engine knows the run (and has read its tags) before following it.
      await engine.list(ME);
      let polls = 0;
      fake.onRunLog = () => {
        polls++;
        if (polls === 2) run.stderr = `${run.stderr ?? ''}tial\nc\n`;
        if (polls === 3) {
          run.stderr = `${run.stderr ?? ''}d\nlast, no newline`;
          run.stdout = 'out 1\nout 2\n';
          run.state = 'COMPLETE';
          run.endTime = TOIL_END;
        }
      };
      const lines = await collect(engine.logs('workflow_job.a', { follow: true }));
      expect(numbered(lines)).toEqual([
        '1 stderr a',
        '2 stderr b',
        '3 stderr partial',
        '4 stderr c',
        '5 stderr d',
        '6 stderr last, no newline',
        '7 stdout out 1',
        '8 stdout out 2',
      ]);
      expect(polls).toBe(3);
      const stderrReads = fake.requests.filter((r) => r.url.endsWith('/run-1/stderr')).map((r) => r.range);
      expect(stderrReads).toEqual([undefined, 'bytes=7-', 'bytes=14-']);
    },
  );

  it('follows from `since` after a restart without repeating a line', async () => {
    const run = fake.add('run-1', ours('workflow_job.a', { stderr: 'a\nb\nc\n' }));
    const engine = engineOn(fake);
    await engine.list(ME);
    let polls = 0;
    fake.onRunLog = () => {
      if (++polls === 2) {
        run.stderr = `${run.stderr ?? ''}d\n`;
        run.state = 'COMPLETE';
      }
    };
    const lines = await collect(
      engine.logs('workflow_job.a', { follow: true, since: lineTimestamp(BASE, 2) }),
    );
    expect(numbered(lines)).toEqual(['3 stderr c', '4 stderr d']);
    expect(polls).toBe(2);
  });

  it('gives nothing for an unknown job, or a run the server forgot', async () => {
    const engine = engineOn(fake);
    expect(await collect(engine.logs('workflow_job.none', { follow: true }))).toEqual([]);
    fake.add('run-1', ours('workflow_job.a', { stderr: 'x\n' }));
    const gone = engineOn(fake);
    expect((await gone.state('workflow_job.a')).kind).toBe('running');
    fake.runs.delete('run-1');
    expect(await collect(gone.logs('workflow_job.a', { follow: true }))).toEqual([]);
  });
});

describe('WesEngine.start', () => {
  let jobDir: string;
  beforeAll(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'wes-job-'));
    mkdirSync(join(jobDir, 'workflow'));
    writeFileSync(join(jobDir, 'workflow', 'main.cwl'), 'cwlVersion: v1.0\nclass: Workflow\n');
  });
  afterAll(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  const request = (name: string): RunRequest => ({
    name,
    localDir: jobDir,
    hostDir: jobDir,
    templateDir: 'workflow',
    rootTemplate: 'main.cwl',
    jobFile: 'job.json',
    inputs: { submissionId: '1' },
    identity: { orchestratorId: ME, submissionId: 'sub-1', evaluationId: '9615001' },
  });

  it('creates a run tagged so that this and a restarted instance find it by the job name', async () => {
    const engine = engineOn(fake);
    expect(await engine.start(request('workflow_job.new'))).toBe('workflow_job.new');
    expect(fake.created).toHaveLength(1);
    expect(fake.created[0]?.form.get('workflow_url')).toBe('main.cwl');
    expect(await engine.state('workflow_job.new')).toEqual({ kind: 'pending', neverStarted: false });
    expect(fake.count('GET', '/runs?')).toBe(0);
    const restarted = engineOn(fake);
    expect(await restarted.state('workflow_job.new')).toEqual({ kind: 'pending', neverStarted: false });
    expect((await restarted.list(ME)).map((job) => job.name)).toEqual(['workflow_job.new']);
  });

  it('posts once only when the server is unavailable, and says the server is away', async () => {
    await fake.stop();
    const engine = engineOn(fake);
    const error = await engine.start(request('workflow_job.new')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as Error).message).toContain(fake.endpoint);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});

describe('WesEngine.ping', () => {
  it('resolves when the server answers', async () => {
    await expect(engineOn(fake).ping()).resolves.toBeUndefined();
  });

  it('throws EngineUnavailableError naming the endpoint when the server is stopped', async () => {
    const engine = engineOn(fake);
    await fake.stop();
    const error = await engine.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as Error).message).toContain(`the WES server at ${fake.endpoint}`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('lists nothing but throws EngineUnavailableError while the server is stopped', async () => {
    const engine = engineOn(fake);
    await fake.stop();
    await expect(engine.list(ME)).rejects.toBeInstanceOf(EngineUnavailableError);
    await expect(engine.state('workflow_job.a')).rejects.toBeInstanceOf(EngineUnavailableError);
  });
});
