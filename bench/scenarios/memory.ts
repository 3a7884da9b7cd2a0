/**
 * Scenario 3. The daemon process's RSS, sampled every 100 ms from /proc: idle (its schedule running, an
 * empty queue), then while `jobs` jobs run at once, each printing `outputMiB` MiB (followed live into
 * each job's workflow.log, uploaded capped at MAX_LOG_BYTES at the end), until all are ACCEPTED. The
 * kernel's high-water mark (VmHWM) is read too: it catches a peak between two samples.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setUpChallenge, workflowRunning } from '../support/challenge.js';
import { allAccepted, logFileOf, seconds, waitUntil, type BenchContext } from '../support/context.js';
import type { MemoryComposition } from '../support/daemon-host.js';
import { CompositionSampler, DaemonProcess, RssSampler } from '../support/daemon-process.js';
import { dockerRunArgs, jobDirectoryFor, removeLabelled, timed } from '../support/engine.js';

const LINE = 'some fixed line of about sixty characters for the log volume test';
const MiB = 1024 * 1024;

export interface MemoryResult {
  idleSeconds: number;
  idlePeakRss: number;
  idleSamples: number;
  jobs: number;
  outputMiB: number;
  loadedPeakRss: number;
  loadedSamples: number;
  /** VmHWM at the end: the highest RSS the process ever had, sampled or not. */
  highWaterMark: number;
  loadedSeconds: number;
  daemonCpuSeconds: number;
  /** One such job alone with `docker run --rm` (the engine's own time for the output). */
  dockerRunSeconds: number;
  /** What the loaded peak was made of (the daemon's own view, sampled every 500 ms). */
  atPeak: MemoryComposition | undefined;
  /** Diagnostic runs only (--daemon-node-option=--expose-gc): the most held after a collection. */
  heldAfterGc?: MemoryComposition | undefined;
}

export async function memoryScenario(
  ctx: BenchContext,
  options: { jobs: number; outputMiB: number; idleSeconds: number },
): Promise<MemoryResult> {
  const run = `${ctx.run}-memory`;
  const workflow = workflowRunning(`yes '${LINE}' | head -c ${options.outputMiB * MiB}`);

  ctx.say(`  engine alone: docker run --rm of one job printing ${options.outputMiB} MiB`);
  const directory = await jobDirectoryFor(join(ctx.workRoot, 'memory-direct'), 'loud', workflow);
  const dockerRunMs = await timed('docker', dockerRunArgs(directory));

  const challenge = await setUpChallenge({ queues: 1, submitters: options.jobs, workflow, run });
  const daemon = await DaemonProcess.start({
    env: challenge.env({ MAX_CONCURRENT_WORKFLOWS: String(options.jobs), POLL_INTERVAL_SECONDS: '1' }),
    logFile: logFileOf(ctx, 'memory'),
    execArgv: ctx.daemonExecArgv,
  });
  try {
    await daemon.startSchedule();
    await sleep(2_000);
    ctx.say(`  idle for ${options.idleSeconds} s`);
    const idle = new RssSampler(daemon.pid).start();
    await sleep(options.idleSeconds * 1000);
    idle.stop();

    ctx.say(`  ${options.jobs} jobs at once, each printing ${options.outputMiB} MiB`);
    const loaded = new RssSampler(daemon.pid).start();
    const composition = new CompositionSampler(daemon).start();
    const diagnostic = ctx.daemonExecArgv.includes('--expose-gc');
    const held = diagnostic ? new CompositionSampler(daemon, 2_000, true).start() : undefined;
    const cpuBefore = daemon.cpuMs;
    const started = Date.now();
    for (let i = 0; i < options.jobs; i++) await challenge.submit(0, i);
    await waitUntil(allAccepted(challenge, options.jobs), 900_000, 'all ACCEPTED', 200);
    const loadedMs = Date.now() - started;
    loaded.stop();
    const atPeak = composition.stop();
    const heldAfterGc = held?.stop();
    ctx.say(`    ${seconds(loadedMs)} s`);
    return {
      idleSeconds: options.idleSeconds,
      idlePeakRss: idle.peak,
      idleSamples: idle.samples,
      jobs: options.jobs,
      outputMiB: options.outputMiB,
      loadedPeakRss: loaded.peak,
      loadedSamples: loaded.samples,
      highWaterMark: daemon.peakRss,
      loadedSeconds: loadedMs / 1000,
      daemonCpuSeconds: (daemon.cpuMs - cpuBefore) / 1000,
      dockerRunSeconds: dockerRunMs / 1000,
      atPeak,
      ...(diagnostic ? { heldAfterGc } : {}),
    };
  } finally {
    await daemon.stop();
    await removeLabelled(ctx.docker, challenge.orchestratorId);
    await challenge.close();
  }
}
