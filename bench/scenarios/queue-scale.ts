/**
 * Scenario 4. A backlog of RECEIVED submissions spread over 5 queues, capacity 10: the daemon's
 * `runOnce()`, timed, with the engine doing the work. Three ticks at each size:
 *   1. the first: lists every queue, prepares the templates, starts 10 (claims, folders, containers);
 *   2. once those 10 containers exited: finishes them (final logs, statuses, clean-up) and starts 10 more;
 *   3. right after: at capacity, lists and looks at the 10 running (nothing to start).
 * The submissions are written straight into the platform's store in one change (a bulk seeding before the
 * daemon starts): through the admin API each would rewrite the whole state file, quadratic in the backlog.
 * The platform runs in this process, so its CPU time during a tick is this process's; the daemon's is read
 * from /proc.
 */
import { join } from 'node:path';
import { setUpChallenge, labelOf, QUICK_WORKFLOW } from '../support/challenge.js';
import { logFileOf, seconds, waitUntil, type BenchContext } from '../support/context.js';
import { CompositionSampler, DaemonProcess, RssSampler } from '../support/daemon-process.js';
import type { MemoryComposition, Span, TickTiming } from '../support/daemon-host.js';
import { createStartBatch, removeLabelled } from '../support/engine.js';

export const QUEUES = 5;
export const CAPACITY = 10;
/** How many starts the orchestrator runs at once (PARALLEL_STARTS in src/evaluation/orchestrator.ts). */
const PARALLEL_STARTS = 4;

export interface TickFigure extends TickTiming {
  /** CPU time of the platform (this process) during the tick. */
  platformCpuMs: number;
  /** The steps the tick was made of (daemon-host.ts), summed over concurrent calls. */
  spans: Record<string, Span>;
}

export interface ScaleResult {
  /** The engine's floor for a tick's starts: 10 engine containers created and started, 4 at a time. */
  engineStartBatchMs: number;
  steps: ScaleStep[];
}

export interface ScaleStep {
  submissions: number;
  seedSeconds: number;
  /** RSS once the daemon is created, before its first tick. */
  rssBefore: number;
  /** Peak RSS over the three ticks (sampled every 100 ms) and the kernel's high-water mark. */
  peakRss: number;
  highWaterMark: number;
  /** What the peak was made of (the daemon's own view, sampled every 500 ms). */
  atPeak: MemoryComposition | undefined;
  /** Diagnostic runs only (--daemon-node-option=--expose-gc): the most held after a collection. */
  heldAfterGc?: MemoryComposition | undefined;
  first: TickFigure;
  steady: TickFigure;
  atCapacity: TickFigure;
}

async function timedTick(daemon: DaemonProcess): Promise<TickFigure> {
  await daemon.spans(true);
  const cpu = process.cpuUsage();
  const timing = await daemon.tick();
  const used = process.cpuUsage(cpu);
  return { ...timing, platformCpuMs: (used.user + used.system) / 1000, spans: await daemon.spans(true) };
}

export async function queueScaleScenario(ctx: BenchContext, sizes: number[]): Promise<ScaleResult> {
  ctx.say(`  engine alone: ${CAPACITY} engine containers created and started, ${PARALLEL_STARTS} at a time`);
  const engineStartBatchMs = await createStartBatch({
    docker: ctx.docker,
    root: join(ctx.workRoot, 'scale-direct'),
    count: CAPACITY,
    concurrency: PARALLEL_STARTS,
    workflow: QUICK_WORKFLOW,
    label: `bench-${ctx.run}-scale-direct`,
  });
  const steps: ScaleStep[] = [];
  for (const submissions of sizes) {
    const run = `${ctx.run}-scale-${submissions}`;
    ctx.say(`  ${submissions} RECEIVED over ${QUEUES} queues`);
    const challenge = await setUpChallenge({ queues: QUEUES, submitters: 50, workflow: QUICK_WORKFLOW, run });
    const seedStarted = performance.now();
    challenge.seed(Math.ceil(submissions / QUEUES));
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const daemon = await DaemonProcess.start({
      env: challenge.env({ MAX_CONCURRENT_WORKFLOWS: String(CAPACITY), POLL_INTERVAL_SECONDS: '1' }),
      logFile: logFileOf(ctx, `scale-${submissions}`),
      execArgv: ctx.daemonExecArgv,
    });
    try {
      const rssBefore = daemon.rss;
      const sampler = new RssSampler(daemon.pid).start();
      const composition = new CompositionSampler(daemon).start();
      const diagnostic = ctx.daemonExecArgv.includes('--expose-gc');
      const held = diagnostic ? new CompositionSampler(daemon, 1_000, true).start() : undefined;
      const first = await timedTick(daemon);
      ctx.say(`    first tick ${seconds(first.ms)} s (${JSON.stringify(first.summary)})`);
      await waitUntil(
        async () => {
          const exited = await ctx.docker.listContainers({
            all: true,
            filters: { label: [labelOf(challenge.orchestratorId)], status: ['exited'] },
          });
          return exited.length >= first.summary.started;
        },
        120_000,
        'the first containers to exit',
        250,
      );
      const steady = await timedTick(daemon);
      ctx.say(`    steady tick ${seconds(steady.ms)} s (${JSON.stringify(steady.summary)})`);
      const atCapacity = await timedTick(daemon);
      ctx.say(`    at-capacity tick ${seconds(atCapacity.ms)} s (${JSON.stringify(atCapacity.summary)})`);
      sampler.stop();
      const atPeak = composition.stop();
      const heldAfterGc = held?.stop();
      steps.push({
        submissions,
        seedSeconds,
        rssBefore,
        peakRss: sampler.peak,
        highWaterMark: daemon.peakRss,
        atPeak,
        ...(diagnostic ? { heldAfterGc } : {}),
        first,
        steady,
        atCapacity,
      });
    } finally {
      await daemon.stop();
      await removeLabelled(ctx.docker, challenge.orchestratorId);
      await challenge.close();
    }
  }
  return { engineStartBatchMs, steps };
}
