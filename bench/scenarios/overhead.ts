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
import { splitCalls, total } from '../support/calls.js';
import { QUICK_WORKFLOW, setUpChallenge } from '../support/challenge.js';
import { allAccepted, logFileOf, seconds, waitUntil, type BenchContext } from '../support/context.js';
import type { Span } from '../support/daemon-host.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { directRun, median, removeLabelled } from '../support/engine.js';

export interface OverheadResult {
  count: number;
  concurrency: number;
  pollSeconds: number;
  submitters: number;
  daemonSeconds: number;
  directSeconds: number;
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
  /** The steps of the daemon's run (daemon-host.ts), summed over concurrent calls. */
  spans: Record<string, Span>;
  calls: {
    perSubmission: number;
    bySubmissionEndpoint: Record<string, number>;
    oneTime: Record<string, number>;
    polling: Record<string, number>;
    ticks: number;
    pollingPerTickPerQueue: number;
  };
}

export async function overheadScenario(
  ctx: BenchContext,
  options: { count: number; concurrency: number },
): Promise<OverheadResult> {
  const { count, concurrency } = options;
  const run = `${ctx.run}-overhead`;

  ctx.say(`  direct: ${count} engine containers with dockerode, ${concurrency} at a time`);
  const direct = await directRun({
    docker: ctx.docker,
    root: join(ctx.workRoot, 'direct'),
    count,
    concurrency,
    workflow: QUICK_WORKFLOW,
    label: `bench-${run}-direct`,
  });
  ctx.say(`    ${seconds(direct.wallMs)} s`);

  const submitters = Math.min(10, count);
  const challenge = await setUpChallenge({ queues: 1, submitters, workflow: QUICK_WORKFLOW, run });
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
    const createdAt = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const at = Date.now();
      createdAt.set(await challenge.submit(0, i), at);
    }
    const submitSeconds = (Date.now() - started) / 1000;
    await waitUntil(allAccepted(challenge, count), Math.max(300_000, direct.wallMs * 10), 'all ACCEPTED');
    const accepted = challenge.writtenAs('ACCEPTED');
    const finished = Math.max(...accepted.values());
    const daemonMs = finished - started;
    const daemonCpuSeconds = (daemon.cpuMs - cpuBefore) / 1000;
    const spans = await daemon.spans(true);
    ctx.say(`    ${seconds(daemonMs)} s`);

    // The messages go out after the final status: wait for them, so that their calls are counted.
    await daemon.settle(120_000);
    const { calls, ticks } = await daemon.calls();
    const split = splitCalls(calls);
    const perEndpoint = (entries: [string, number][], per: number) =>
      Object.fromEntries(entries.map(([endpoint, n]) => [endpoint, Math.round((n / per) * 100) / 100]));
    const pollingTotal = total(split.polling);
    return {
      count,
      concurrency,
      pollSeconds: 1,
      submitters,
      daemonSeconds: daemonMs / 1000,
      directSeconds: direct.wallMs / 1000,
      ratio: daemonMs / direct.wallMs,
      submitSeconds,
      directStartMedianMs: median(direct.startMs),
      directJobMedianMs: median(direct.jobMs),
      daemonJobMedianMs: median([...accepted].map(([id, at]) => at - (createdAt.get(id) ?? at))),
      daemonCpuSeconds,
      spans,
      calls: {
        perSubmission: total(split.submission) / count,
        bySubmissionEndpoint: perEndpoint(split.submission, count),
        oneTime: Object.fromEntries(split['one-time']),
        polling: Object.fromEntries(split.polling),
        ticks,
        pollingPerTickPerQueue:
          ticks === 0 ? Number.NaN : pollingTotal / ticks / challenge.evaluationIds.length,
      },
    };
  } finally {
    await daemon.stop();
    await removeLabelled(ctx.docker, challenge.orchestratorId);
    await challenge.close();
  }
}
