/**
 * Scenario 5. Start latency: from a submission's creation to its engine container running (Docker's own
 * `start` event for the container, labelled with the submission), with the daemon on its own schedule at
 * POLL_INTERVAL_SECONDS=1. Submissions are made one after another at random points of the poll cycle
 * (a random pause of 0-1 s after the previous one's container started), so waiting for the next tick is
 * part of the figure, as it is for a participant.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { LABELS } from '../../src/engine/interfaces.js';
import { labelOf, QUICK_WORKFLOW, setUpChallenge } from '../support/challenge.js';
import { allAccepted, logFileOf, waitUntil, type BenchContext } from '../support/context.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { createStartTimes, median, quantile, removeLabelled } from '../support/engine.js';

export interface LatencyResult {
  samples: number;
  pollSeconds: number;
  latenciesMs: number[];
  p50Ms: number;
  p95Ms: number;
  /** The engine's own: create + start of the same engine container with dockerode, one at a time. */
  engineCreateStartMs: number[];
  engineCreateStartMedianMs: number;
}

interface DockerEvent {
  timeNano?: number;
  Actor?: { Attributes?: Record<string, string> };
}

export async function latencyScenario(
  ctx: BenchContext,
  options: { samples: number },
): Promise<LatencyResult> {
  const run = `${ctx.run}-latency`;
  ctx.say('  engine alone: create + start of the engine container, 5 times');
  const engineCreateStartMs = await createStartTimes({
    docker: ctx.docker,
    root: join(ctx.workRoot, 'latency-direct'),
    times: 5,
    workflow: QUICK_WORKFLOW,
    label: `bench-${run}-direct`,
  });

  const challenge = await setUpChallenge({ queues: 1, submitters: 5, workflow: QUICK_WORKFLOW, run });
  const startedAt = new Map<string, number>();
  const events: NodeJS.ReadableStream & { destroy?: () => void } = await ctx.docker.getEvents({
    filters: { type: ['container'], event: ['start'], label: [labelOf(challenge.orchestratorId)] },
  });
  const lines = createInterface({ input: events });
  lines.on('line', (line) => {
    const event = JSON.parse(line) as DockerEvent;
    const submissionId = event.Actor?.Attributes?.[LABELS.submissionId];
    if (submissionId !== undefined && event.timeNano !== undefined) {
      startedAt.set(submissionId, event.timeNano / 1e6);
    }
  });
  const daemon = await DaemonProcess.start({
    env: challenge.env({ POLL_INTERVAL_SECONDS: '1' }),
    logFile: logFileOf(ctx, 'latency'),
    execArgv: ctx.daemonExecArgv,
  });
  try {
    await daemon.startSchedule();
    await sleep(2_000);
    ctx.say(`  ${options.samples} submissions at random points of the 1 s poll cycle`);
    const latenciesMs: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      await sleep(Math.random() * 1000);
      const created = Date.now();
      const id = await challenge.submit(0, i);
      await waitUntil(() => startedAt.has(id), 60_000, `submission ${id}'s container to start`, 20);
      latenciesMs.push((startedAt.get(id) ?? created) - created);
    }
    await waitUntil(allAccepted(challenge, options.samples), 120_000, 'all ACCEPTED', 200);
    return {
      samples: options.samples,
      pollSeconds: 1,
      latenciesMs,
      p50Ms: quantile(latenciesMs, 0.5),
      p95Ms: quantile(latenciesMs, 0.95),
      engineCreateStartMs,
      engineCreateStartMedianMs: median(engineCreateStartMs),
    };
  } finally {
    lines.close();
    events.destroy?.();
    await daemon.stop();
    await removeLabelled(ctx.docker, challenge.orchestratorId);
    await challenge.close();
  }
}
