/**
 * A workflow that forks without bound. The engine container runs with a pids limit (WORKFLOW_PIDS_LIMIT,
 * default 1024), so a fork bomb fills its own container and nothing else: the orchestrator keeps ticking,
 * the run ends with a clear reason (here the time limit stops it), and nothing of it is left.
 *
 * The fork bomb only starts when the container has a pids limit: on a host whose kernel.pid_max is 32768
 * (this one), an unbounded bomb would starve every process on the machine. The first test is the safe way
 * to see whether the limit is there: 1,500 sleeps, counted.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { watchContainerPids, type PidsWatch } from '../../support/cgroup-pids.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  STEP_IMAGE,
  containersOf,
  readStoredLog,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

// CWL reads "$(" as a parameter reference: these scripts use backquotes and no shell arithmetic.

/** The container's pids.max (cgroup v1 or v2), "max" when unlimited. */
const PIDS_MAX = 'pm=`cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max`';

const digits = (count: number) => Array.from({ length: count }, (_, i) => String(i)).join(' ');

/** Starts 1,500 eight-second sleeps (in a subshell, which stops at the first fork refused), then counts. */
const MANY_SLEEPS =
  `${PIDS_MAX}; echo "pids.max=$pm"; ` +
  `( for a in ${digits(15)}; do for b in ${digits(100)}; do sleep 8 & done; done; wait ) 2>/dev/null & ` +
  // Counted with builtins only: at the limit, nothing else can be started.
  'sleep 4; set -- /proc/[0-9]*; echo "processes=$#"; wait; echo done';

/** The classic fork bomb, only under a pids limit; the shell then becomes a long sleep (exec: no fork). */
const FORK_BOMB =
  `${PIDS_MAX}; case "$pm" in ''|max) echo "no pids limit: not starting a fork bomb"; exit 3;; esac; ` +
  'echo "pids.max=$pm"; b() { b | b & }; b; exec sleep 600';

describeWithDocker('a workflow that forks without bound', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool(MANY_SLEEPS) }), rootTemplate: 'wf.cwl' },
      { archive: await zipFiles({ 'wf.cwl': shellTool(FORK_BOMB) }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('gets no more processes than the pids limit (1024 by default): 1,500 sleeps do not all start', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 90_000);
    const status = await statusOf(challenge, id);
    const log = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    const text = log?.text ?? '';
    expect(text).toMatch(/pids\.max=1024\b/);
    const processes = Number(/processes=(\d+)/.exec(text)?.[1]);
    expect(processes).toBeGreaterThan(500);
    expect(processes).toBeLessThanOrEqual(1024);
    expect(text).toContain('done');
    expect(status.status).toBe('ACCEPTED');
    await orchestrator.daemon.settle(60_000);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  });

  it('a fork bomb fills its own container only: ticks go on, it ends INVALID at the time limit, nothing is left', async () => {
    // One CPU for the workflow, so the bomb's endless fork attempts leave the other to the host.
    const orchestrator = await startOrchestrator(challenge, {
      MAX_RUNTIME_SECONDS: '20',
      WORKFLOW_CPU_LIMIT: '1',
    });
    const docker = new Docker();
    const id = await submitFile(challenge, challenge.queues[1]?.evaluationId ?? '');
    let slowestTick = 0;
    // Sampled by docker stats in the loop below (the only way when the engine is on another machine)…
    let mostPids = 0;
    // …and, when the engine is on this host, from the container's pids cgroup every 50 ms.
    let pids: PidsWatch | undefined;
    const deadline = Date.now() + 120_000;
    while (!FINAL.has((await statusOf(challenge, id)).status)) {
      if (Date.now() > deadline) throw new Error('the fork bomb did not end');
      const started = Date.now();
      await orchestrator.daemon.runOnce();
      slowestTick = Math.max(slowestTick, Date.now() - started);
      const job = readString(await statusOf(challenge, id), ANNOTATIONS.workflowJobId);
      if (job !== undefined) {
        if (pids === undefined) {
          const info = await docker
            .getContainer(job)
            .inspect()
            .catch(() => undefined);
          if (info !== undefined) pids = watchContainerPids(info.Id);
        }
        const stats = (await docker
          .getContainer(job)
          .stats({ stream: false })
          .catch(() => undefined)) as { pids_stats?: { current?: number } } | undefined;
        mostPids = Math.max(mostPids, stats?.pids_stats?.current ?? 0);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    pids?.stop();
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    expect(readString(status, ANNOTATIONS.failureReason)).toBe(
      'Stopped: it ran longer than the time limit of 20 seconds.',
    );
    // The bomb ran, and was held at the limit: the kernel refused forks at 1024 processes.
    if (pids?.found === true) {
      expect(pids.limit).toBe(1024);
      expect(pids.refusedAtLimit).toBeGreaterThan(0);
      // (pids.peak itself may pass the limit by a few: the kernel counts a fork before refusing it.)
      expect(pids.peak).toBeGreaterThan(900);
    } else {
      expect(mostPids).toBeGreaterThan(900);
    }
    expect(mostPids).toBeLessThanOrEqual(1024);
    // The orchestrator kept ticking meanwhile.
    expect(slowestTick).toBeLessThan(30_000);
    // Nothing of it is left (once the clean-up going on in the background is over), and the host still
    // starts containers.
    await orchestrator.daemon.settle(60_000);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    const probe: unknown = await docker.run(STEP_IMAGE, ['true'], [], { HostConfig: { AutoRemove: true } });
    expect((probe as [{ StatusCode: number }])[0].StatusCode).toBe(0);
  }, 180_000);
});
