/**
 * Scenarios 1 and 2. Overhead: `count` submissions of a job that ends at once, through the daemon on its
 * own schedule (MAX_CONCURRENT_WORKFLOWS = `concurrency`, POLL_INTERVAL_SECONDS = 1), from the first
 * submission being created to the last one ACCEPTED (the platform's own time of that write); against the
 * same engine containers created, started, waited and removed with dockerode at the same concurrency, in
 * the same run. Platform calls: every call the daemon made during the run, by endpoint, once the messages
 * it queued went out too.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LABELS } from '../../src/engine/interfaces.js';
import { entries, total } from '../support/calls.js';
import { labelOf, QUICK_WORKFLOW, setUpChallenge } from '../support/challenge.js';
import { allAccepted, logFileOf, seconds, waitUntil, type BenchContext } from '../support/context.js';
import type { Span } from '../support/daemon-host.js';
import { CpuMeter, DaemonProcess, engineDaemonPids, type CpuUse } from '../support/daemon-process.js';
import { ContainerTimeline, directRun, median, removeLabelled } from '../support/engine.js';

export interface OverheadResult {
  count: number;
  concurrency: number;
  pollSeconds: number;
  submitters: number;
  daemonSeconds: number;
  /** The mean of the two direct runs (before and after the daemon's). */
  directSeconds: number;
  directRunsSeconds: number[];
  ratio: number;
  /** Time to create the submissions through the admin API (inside daemonSeconds). */
  submitSeconds: number;
  /** Engine's own create+start, median over the direct containers (under the same concurrency). */
  directStartMedianMs: number;
  /** Direct: one job's create to removed, median. */
  directJobMedianMs: number;
  /** Daemon: a submission's creation to its ACCEPTED write, median. */
  daemonJobMedianMs: number;
  /** CPU seconds the daemon process used during its run. */
  daemonCpuSeconds: number;
  /** CPU seconds of the platform (the bench's process) during the daemon's run. */
  platformCpuSeconds: number;
  /** From Docker's events: each engine container's start to die, median, and its slots' idle share. */
  direct: ContainerUse;
  directAfter: ContainerUse;
  daemon: ContainerUse;
  /** The steps of the daemon's run (daemon-host.ts), summed over concurrent calls. */
  spans: Record<string, Span>;
  calls: {
    perSubmission: number;
    bySubmissionEndpoint: Record<string, number>;
    oneTime: Record<string, number>;
    template: Record<string, number>;
    polling: Record<string, number>;
    ticks: number;
    pollingPerTickPerQueue: number;
  };
}

export interface ContainerUse {
  /** CPU used during the run (the machine's, the engine daemons', the platform's, the daemon's). */
  cpu: CpuUse;
  containers: number;
  runMedianMs: number;
  /** Share of concurrency x wall time with no engine container running in the slot. */
  idleShare: number;
}

function use(timeline: ContainerTimeline, concurrency: number, wallMs: number, cpu: CpuUse): ContainerUse {
  return {
    cpu,
    containers: timeline.runMs.length,
    runMedianMs: median(timeline.runMs),
    idleShare: 1 - timeline.runningMs / (concurrency * wallMs),
  };
}

export async function overheadScenario(
  ctx: BenchContext,
  options: { count: number; concurrency: number },
): Promise<OverheadResult> {
  const { count, concurrency } = options;
  const run = `${ctx.run}-overhead`;

  /** The baseline, once before the daemon's run and once after (the engine's figure varies run to run). */
  const directOnce = async (round: number) => {
    ctx.say(`  direct (${round}): ${count} engine containers with dockerode, ${concurrency} at a time`);
    const label = `bench-${run}-direct-${round}`;
    const timeline = await ContainerTimeline.watch(ctx.docker, [`${LABELS.orchestratorId}=${label}`]);
    const meter = new CpuMeter(enginePids);
    try {
      const result = await directRun({
        docker: ctx.docker,
        root: join(ctx.workRoot, `direct-${round}`),
        count,
        concurrency,
        workflow: QUICK_WORKFLOW,
        label,
      });
      ctx.say(`    ${seconds(result.wallMs)} s`);
      return { result, use: use(timeline, concurrency, result.wallMs, meter.read()) };
    } finally {
      timeline.stop();
    }
  };
  const enginePids = engineDaemonPids();
  const before = await directOnce(1);

  const submitters = Math.min(10, count);
  const challenge = await setUpChallenge({ queues: 1, submitters, workflow: QUICK_WORKFLOW, run });
  const timeline = await ContainerTimeline.watch(ctx.docker, [labelOf(challenge.orchestratorId)]);
  const daemon = await DaemonProcess.start({
    env: challenge.env({ MAX_CONCURRENT_WORKFLOWS: String(concurrency), POLL_INTERVAL_SECONDS: '1' }),
    logFile: logFileOf(ctx, 'overhead'),
    execArgv: ctx.daemonExecArgv,
  });
  try {
    await daemon.startSchedule();
    // A few empty ticks first: the daemon is measured as it is once running, not while it starts.
    await sleep(2_500);
    await daemon.calls(true);
    await daemon.spans(true);
    ctx.say(`  daemon: ${count} submissions from ${submitters} submitters, poll interval 1 s`);
    const cpuBefore = daemon.cpuMs;
    const meter = new CpuMeter(enginePids, daemon.pid);
    const createdAt = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const at = Date.now();
      createdAt.set(await challenge.submit(0, i), at);
    }
    const submitSeconds = (Date.now() - started) / 1000;
    await waitUntil(
      allAccepted(challenge, count),
      Math.max(300_000, before.result.wallMs * 10),
      'all ACCEPTED',
    );
    const accepted = challenge.writtenAs('ACCEPTED');
    const finished = Math.max(...accepted.values());
    const daemonMs = finished - started;
    const daemonCpuSeconds = (daemon.cpuMs - cpuBefore) / 1000;
    const cpu = meter.read();
    timeline.stop();
    const spans = await daemon.spans(true);
    const after = await directOnce(2);
    const directMs = (before.result.wallMs + after.result.wallMs) / 2;
    ctx.say(`    ${seconds(daemonMs)} s`);

    // The messages go out after the final status: wait for them, so that their calls are counted.
    await daemon.settle(120_000);
    const { calls, ticks } = await daemon.calls();
    const perEndpoint = (counts: Record<string, number>, per: number) =>
      Object.fromEntries(
        entries(counts).map(([endpoint, n]) => [endpoint, Math.round((n / per) * 100) / 100]),
      );
    return {
      count,
      concurrency,
      pollSeconds: 1,
      submitters,
      daemonSeconds: daemonMs / 1000,
      directSeconds: directMs / 1000,
      directRunsSeconds: [before.result.wallMs / 1000, after.result.wallMs / 1000],
      ratio: daemonMs / directMs,
      submitSeconds,
      directStartMedianMs: median([...before.result.startMs, ...after.result.startMs]),
      directJobMedianMs: median([...before.result.jobMs, ...after.result.jobMs]),
      daemonJobMedianMs: median([...accepted].map(([id, at]) => at - (createdAt.get(id) ?? at))),
      daemonCpuSeconds,
      platformCpuSeconds: cpu.bench,
      direct: before.use,
      directAfter: after.use,
      daemon: use(timeline, concurrency, daemonMs, cpu),
      spans,
      calls: {
        perSubmission: total(calls.submission) / count,
        bySubmissionEndpoint: perEndpoint(calls.submission, count),
        oneTime: calls['one-time'],
        template: calls.template,
        polling: calls.polling,
        ticks,
        pollingPerTickPerQueue:
          ticks === 0 ? Number.NaN : total(calls.polling) / ticks / challenge.evaluationIds.length,
      },
    };
  } finally {
    timeline.stop();
    await daemon.stop();
    await removeLabelled(ctx.docker, challenge.orchestratorId);
    await challenge.close();
  }
}
