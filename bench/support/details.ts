/** The markdown under the table: what each figure is made of (the JSON has all of it). */
import type { EngineReference } from '../scenarios/engine-reference.js';
import type { LatencyResult } from '../scenarios/latency.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { OverheadResult } from '../scenarios/overhead.js';
import type { ScaleResult, TickFigure } from '../scenarios/queue-scale.js';
import type { MemoryComposition, Span } from './daemon-host.js';
import type { CpuUse } from './daemon-process.js';
import { fixed, mibText, secondsText } from './report.js';

export interface Detailed {
  engine?: EngineReference | undefined;
  overhead?: OverheadResult | undefined;
  memory?: MemoryResult | undefined;
  scale?: ScaleResult | undefined;
  latency?: LatencyResult | undefined;
  scenarioSeconds: Record<string, number | undefined>;
}

/** "rss X (heap used Y of Z: new space …, old space …; external E, array buffers B)". */
function composition(m: MemoryComposition | undefined): string {
  if (m === undefined) return 'not sampled';
  const space = (name: string) => {
    const s = m.spaces[name];
    return s === undefined ? 'n/a' : `${mibText(s.used)} used of ${mibText(s.size)}`;
  };
  return (
    `RSS ${mibText(m.rss)}: V8 heap ${mibText(m.heapUsed)} used of ${mibText(m.heapTotal)} ` +
    `(new space ${space('new_space')}, old space ${space('old_space')}, code ${space('code_space')}), ` +
    `external ${mibText(m.external)} (array buffers ${mibText(m.arrayBuffers)}); the rest is the process's own (code, libraries, allocator)`
  );
}

const cpuText = (cpu: CpuUse) =>
  `${fixed(cpu.machine)} s (engine daemons ${fixed(cpu.engineDaemons)}, the bench process with the platform ${fixed(cpu.bench)}, the orchestrator daemon ${fixed(cpu.daemon)})`;

const list = (ms: number[]) => ms.map((m) => fixed(m / 1000, 2)).join(', ');

/** Spans, longest total first: "name: n calls, total s (longest s)". */
function spanLines(spans: Record<string, Span>, top = 8): string[] {
  return Object.entries(spans)
    .sort(([, a], [, b]) => b.totalMs - a.totalMs)
    .slice(0, top)
    .map(
      ([name, s]) =>
        `  - ${name}: ${s.count} call(s), ${secondsText(s.totalMs)} in all, longest ${secondsText(s.maxMs)}`,
    );
}

function tickLines(label: string, tick: TickFigure): string[] {
  return [
    `- ${label}: ${secondsText(tick.ms)} (daemon CPU ${secondsText(tick.cpuMs)}, platform CPU ${secondsText(tick.platformCpuMs)}); ${JSON.stringify(tick.summary)}`,
    ...spanLines(tick.spans, 6),
  ];
}

export function detailsMarkdown(results: Detailed): string {
  const out: string[] = ['## Details', ''];
  const { engine, overhead, memory, scale, latency } = results;
  if (engine !== undefined) {
    out.push(
      "### The engine's own figures",
      '',
      `- \`docker run --rm local/busybox:1 true\`: ${list(engine.busyboxRunMs)} s (median ${secondsText(engine.busyboxRunMedianMs)})`,
      `- \`docker run --rm\` of the engine container on a trivial CWL job (cwltool): ${list(engine.engineJobRunMs)} s (median ${secondsText(engine.engineJobRunMedianMs)})`,
      '',
    );
  }
  if (overhead !== undefined) {
    out.push(
      '### 1. Overhead',
      '',
      `- Direct (dockerode, ${overhead.concurrency} at a time), before and after the daemon's run: ${overhead.directRunsSeconds.map((d) => fixed(d)).join(' s and ')} s, mean ${fixed(overhead.directSeconds)} s; per container create + start median ${secondsText(overhead.directStartMedianMs)}, create to removed median ${secondsText(overhead.directJobMedianMs)}`,
      `- Daemon: ${fixed(overhead.daemonSeconds)} s from the first submission created to the last ACCEPTED (creating the ${overhead.count} took ${fixed(overhead.submitSeconds, 2)} s of it); per submission, created to ACCEPTED median ${secondsText(overhead.daemonJobMedianMs)}`,
      `- Engine containers, start to die (Docker's events): direct median ${secondsText(overhead.direct.runMedianMs)} and ${secondsText(overhead.directAfter.runMedianMs)}, slots idle ${fixed(overhead.direct.idleShare * 100, 0)}% and ${fixed(overhead.directAfter.idleShare * 100, 0)}% of ${overhead.concurrency} x the wall time; daemon median ${secondsText(overhead.daemon.runMedianMs)}, slots idle ${fixed(overhead.daemon.idleShare * 100, 0)}%`,
      `- CPU (core-seconds; the machine's whole, of which the engine's daemons dockerd + containerd, the platform and the daemon): direct ${cpuText(overhead.direct.cpu)} and ${cpuText(overhead.directAfter.cpu)}; daemon's run ${cpuText(overhead.daemon.cpu)}. The rest of the machine's is mostly the containers themselves (cwltool) and their shims`,
      '- Where the daemon spent its time (summed over concurrent calls):',
      ...spanLines(overhead.spans),
      '',
      '### 2. Platform calls',
      '',
      `Per accepted submission (${overhead.count} submissions from ${overhead.submitters} submitters, so ${overhead.submitters} first submissions whose submitter folders were made), excluding polling: **${fixed(overhead.calls.perSubmission)}**`,
      '',
      ...Object.entries(overhead.calls.bySubmissionEndpoint)
        .sort(([, a], [, b]) => b - a)
        .map(([endpoint, n]) => `- ${fixed(n, 2)} \`${endpoint}\``),
      '',
      `Once per process: ${Object.entries(overhead.calls.oneTime)
        .map(([endpoint, n]) => `${n}x \`${endpoint}\``)
        .join(
          ', ',
        )}. The template (its check, each tick that starts something, and its download, once): ${Object.entries(
        overhead.calls.template,
      )
        .map(([endpoint, n]) => `${n}x \`${endpoint}\``)
        .join(', ')}`,
      '',
      `Polling over ${overhead.calls.ticks} ticks: ${Object.entries(overhead.calls.polling)
        .map(([endpoint, n]) => `${n}x \`${endpoint}\``)
        .join(', ')} (${fixed(overhead.calls.pollingPerTickPerQueue, 2)} per tick per queue)`,
      '',
    );
  }
  if (memory !== undefined) {
    out.push(
      '### 3. Memory',
      '',
      `- Idle ${memory.idleSeconds} s: peak ${mibText(memory.idlePeakRss)} over ${memory.idleSamples} samples`,
      `- ${memory.jobs} jobs x ${memory.outputMiB} MiB: peak ${mibText(memory.loadedPeakRss)} over ${memory.loadedSamples} samples, high-water mark ${mibText(memory.highWaterMark)}; ${fixed(memory.loadedSeconds)} s to all ACCEPTED, daemon CPU ${fixed(memory.daemonCpuSeconds)} s`,
      `- One such job alone with \`docker run --rm\`: ${fixed(memory.dockerRunSeconds)} s`,
      `- At the loaded peak: ${composition(memory.atPeak)}`,
      ...(memory.heldAfterGc === undefined
        ? []
        : [`- Held after a collection, at most (diagnostic run): ${composition(memory.heldAfterGc)}`]),
      '',
    );
  }
  if (scale !== undefined) {
    out.push(
      '### 4. Queue scale',
      '',
      `The engine alone: 10 engine containers created and started 4 at a time, ${secondsText(scale.engineStartBatchMs)}.`,
      '',
    );
    for (const step of scale.steps) {
      out.push(
        `**${step.submissions.toLocaleString('en-US')} RECEIVED** (seeded in ${fixed(step.seedSeconds, 2)} s; RSS ${mibText(step.rssBefore)} before, peak ${mibText(step.peakRss)}, high-water ${mibText(step.highWaterMark)})`,
        '',
        `- At the peak: ${composition(step.atPeak)}`,
        ...(step.heldAfterGc === undefined
          ? []
          : [`- Held after a collection, at most (diagnostic run): ${composition(step.heldAfterGc)}`]),
        ...tickLines('first tick', step.first),
        ...tickLines('steady tick', step.steady),
        ...tickLines('at-capacity tick', step.atCapacity),
        '',
      );
    }
  }
  if (latency !== undefined) {
    out.push(
      '### 5. Start latency',
      '',
      `- Creation to container running, ${latency.samples} samples: ${list(latency.latenciesMs)} s`,
      `- The engine alone, create + start: ${list(latency.engineCreateStartMs)} s`,
      '',
    );
  }
  out.push(
    '### Time per scenario',
    '',
    ...Object.entries(results.scenarioSeconds).map(([name, s]) => `- ${name}: ${fixed(s ?? 0)} s`),
    '',
  );
  return out.join('\n');
}
