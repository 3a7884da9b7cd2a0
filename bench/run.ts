/**
 * The benchmark suite (`npm run bench`): how little the orchestrator adds on top of the container engine
 * and the platform, and how that grows with the queue. Against the local platform (in this process) and
 * the real Docker engine, with the daemon in a process of its own (bench/support/daemon-host.ts). Prints a
 * table and writes bench/results/<timestamp>.json (every figure) and .md (the table). See bench/README.md.
 *
 * Usage: npx tsx bench/run.ts [--smoke] [--only engine,overhead,memory,scale,latency] [--cpu-prof]
 *   --smoke     tiny sizes, to check the suite works (results go to the scratch directory, not bench/results)
 *   --only      some scenarios (the engine reference always runs: the other figures are set against it)
 *   --cpu-prof  the daemon process writes a V8 CPU profile per scenario into the scratch directory
 *   --daemon-node-option=<flag>  a node option for the daemon process (repeatable), for diagnostics: with
 *               --expose-gc, the memory scenario also samples what is held after a collection
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { LABELS } from '../src/engine/interfaces.js';
import { engineReference, type EngineReference } from './scenarios/engine-reference.js';
import { latencyScenario, type LatencyResult } from './scenarios/latency.js';
import { memoryScenario, type MemoryResult } from './scenarios/memory.js';
import { overheadScenario, type OverheadResult } from './scenarios/overhead.js';
import {
  CAPACITY,
  QUEUES,
  queueScaleScenario,
  type ScaleResult,
  type ScaleStep,
} from './scenarios/queue-scale.js';
import type { BenchContext } from './support/context.js';
import { buildHost } from './support/daemon-process.js';
import { detailsMarkdown } from './support/details.js';
import {
  fixed,
  markdownTable,
  mibText,
  secondsText,
  textTable,
  verdict,
  type Row,
} from './support/report.js';

const SCENARIOS = ['engine', 'overhead', 'memory', 'scale', 'latency'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Sizes {
  overhead: { count: number; concurrency: number };
  memory: { jobs: number; outputMiB: number; idleSeconds: number };
  scale: number[];
  latency: { samples: number };
  referenceRuns: number;
}

const FULL: Sizes = {
  overhead: { count: 50, concurrency: 10 },
  memory: { jobs: 10, outputMiB: 100, idleSeconds: 10 },
  scale: [500, 1_000, 5_000],
  latency: { samples: 20 },
  referenceRuns: 5,
};
const SMOKE: Sizes = {
  overhead: { count: 4, concurrency: 2 },
  memory: { jobs: 2, outputMiB: 2, idleSeconds: 2 },
  scale: [20, 40],
  latency: { samples: 3 },
  referenceRuns: 1,
};

const TARGETS = { ratio: 1.2, callsPerSubmission: 15, rssMiB: 150, tickMs: 2_000 };

interface Results {
  startedAt: string;
  durationSeconds: number;
  smoke: boolean;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    docker: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    bareNodeRss: number;
  };
  engine?: EngineReference;
  overhead?: OverheadResult;
  memory?: MemoryResult;
  scale?: ScaleResult;
  latency?: LatencyResult;
  scenarioSeconds: Partial<Record<Scenario, number>>;
  rows: Row[];
}

function parseArgs(argv: string[]) {
  const smoke = argv.includes('--smoke');
  const cpuProf = argv.includes('--cpu-prof');
  const nodeOptions = argv
    .filter((a) => a.startsWith('--daemon-node-option='))
    .map((a) => a.slice(a.indexOf('=') + 1));
  const onlyAt = argv.indexOf('--only');
  const only =
    onlyAt === -1
      ? new Set<Scenario>(SCENARIOS)
      : new Set<Scenario>(['engine', ...((argv[onlyAt + 1] ?? '').split(',') as Scenario[])]);
  for (const name of only) if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}`);
  return { smoke, cpuProf, only, nodeOptions };
}

/** RSS of a Node.js process that does nothing: the floor any Node daemon starts from. */
function bareNodeRss(): number {
  const out = execFileSync(
    process.execPath,
    ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 300)'],
    { encoding: 'utf8' },
  );
  return Number(out.trim());
}

function rowsOf(results: Results): Row[] {
  const rows: Row[] = [];
  const { engine, overhead, memory, scale, latency } = results;
  const engineJob =
    engine === undefined ? '' : `one job alone, docker run --rm: ${secondsText(engine.engineJobRunMedianMs)}`;
  if (overhead !== undefined) {
    rows.push({
      figure: `1. Overhead: ${overhead.count} quick jobs, concurrency ${overhead.concurrency}, poll ${overhead.pollSeconds} s`,
      orchestrator: `${fixed(overhead.daemonSeconds)} s; ratio ${fixed(overhead.ratio, 2)}`,
      engine: `${fixed(overhead.directSeconds)} s direct (dockerode, p-limit ${overhead.concurrency}; mean of ${overhead.directRunsSeconds.map((d) => fixed(d)).join(' and ')}); ${engineJob}`,
      target: `ratio <= ${TARGETS.ratio}`,
      met: verdict(overhead.ratio <= TARGETS.ratio),
    });
    rows.push({
      figure: '2. Platform calls per accepted submission, excluding polling',
      orchestrator: fixed(overhead.calls.perSubmission),
      engine: 'none (the engine makes no platform call)',
      target: `<= ${TARGETS.callsPerSubmission}`,
      met: verdict(overhead.calls.perSubmission <= TARGETS.callsPerSubmission),
    });
    rows.push({
      figure: '2. Polling calls per tick per queue',
      orchestrator: fixed(overhead.calls.pollingPerTickPerQueue, 2),
      engine: '',
      target: '',
      met: '',
    });
  }
  if (memory !== undefined) {
    rows.push({
      figure: `3. Peak RSS, idle (${memory.idleSeconds} s, sampled every 100 ms)`,
      orchestrator: mibText(memory.idlePeakRss),
      engine: `a bare node process: ${mibText(results.machine.bareNodeRss)}`,
      target: `<= ${TARGETS.rssMiB} MiB`,
      met: verdict(memory.idlePeakRss <= TARGETS.rssMiB * 1024 * 1024),
    });
    const peak = Math.max(memory.loadedPeakRss, memory.highWaterMark);
    rows.push({
      figure: `3. Peak RSS, ${memory.jobs} jobs at once each printing ${memory.outputMiB} MiB`,
      orchestrator: `${mibText(memory.loadedPeakRss)} sampled; ${mibText(memory.highWaterMark)} high-water mark (all took ${fixed(memory.loadedSeconds)} s)`,
      engine: `one such job alone, docker run --rm: ${fixed(memory.dockerRunSeconds)} s`,
      target: `<= ${TARGETS.rssMiB} MiB`,
      met: verdict(peak <= TARGETS.rssMiB * 1024 * 1024),
    });
  }
  if (scale !== undefined) {
    for (const step of scale.steps) {
      const ticks = [step.first, step.steady, step.atCapacity];
      const worst = Math.max(...ticks.map((t) => t.ms));
      rows.push({
        figure: `4. Tick at ${step.submissions.toLocaleString('en-US')} RECEIVED / ${QUEUES} queues, capacity ${CAPACITY}: first / steady / at capacity`,
        orchestrator: `${ticks.map((t) => fixed(t.ms / 1000, 2)).join(' / ')} s; daemon CPU ${ticks.map((t) => fixed(t.cpuMs / 1000, 2)).join(' / ')} s`,
        engine: `${CAPACITY} engine containers created and started 4 at a time: ${secondsText(scale.engineStartBatchMs)}; platform CPU in the ticks ${ticks.map((t) => fixed(t.platformCpuMs / 1000, 2)).join(' / ')} s`,
        target: `<= ${TARGETS.tickMs / 1000} s`,
        met: verdict(worst <= TARGETS.tickMs),
      });
      rows.push({
        figure: `4. RSS at ${step.submissions.toLocaleString('en-US')} RECEIVED: before the first tick / peak over the ticks`,
        orchestrator: `${mibText(step.rssBefore)} / ${mibText(Math.max(step.peakRss, step.highWaterMark))}`,
        engine: '',
        target: `<= ${TARGETS.rssMiB} MiB`,
        met: verdict(Math.max(step.peakRss, step.highWaterMark) <= TARGETS.rssMiB * 1024 * 1024),
      });
    }
    const small = scale.steps[0];
    const large = scale.steps[scale.steps.length - 1];
    if (small !== undefined && large !== undefined && large !== small) {
      const factor = large.submissions / small.submissions;
      const tickOf = (s: ScaleStep) => s.first.ms;
      const rssGrowth = (s: ScaleStep) => Math.max(s.peakRss, s.highWaterMark) - s.rssBefore;
      const tickFactor = tickOf(large) / tickOf(small);
      const rssFactor = rssGrowth(large) / Math.max(1, rssGrowth(small));
      rows.push({
        figure: `4. Growth ${small.submissions.toLocaleString('en-US')} -> ${large.submissions.toLocaleString('en-US')} (x${fixed(factor, 0)}): first tick; RSS gained over the ticks`,
        orchestrator: `x${fixed(tickFactor, 2)}; x${fixed(rssFactor, 2)} (${mibText(rssGrowth(small))} -> ${mibText(rssGrowth(large))})`,
        engine: '',
        target: `<= x${fixed(factor, 0)} (linear)`,
        met: verdict(tickFactor <= factor && rssFactor <= factor),
      });
    }
  }
  if (latency !== undefined) {
    rows.push({
      figure: `5. Start latency, creation -> container running, poll ${latency.pollSeconds} s (${latency.samples} samples): p50 / p95`,
      orchestrator: `${secondsText(latency.p50Ms)} / ${secondsText(latency.p95Ms)}`,
      engine: `create + start alone: ${secondsText(latency.engineCreateStartMedianMs)}${engine === undefined ? '' : `; docker run --rm busybox true: ${secondsText(engine.busyboxRunMedianMs)}`}`,
      target: `(none set; lifecycle: <= poll + 2 s = ${latency.pollSeconds + 2} s)`,
      met: '',
    });
  }
  return rows;
}

/** Removes the engine containers this run left (every orchestrator id of the run starts with bench-<run>). */
async function removeLeftovers(docker: Docker, run: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [LABELS.orchestratorId] } });
  await Promise.all(
    containers
      .filter((c) => c.Labels[LABELS.orchestratorId]?.startsWith(`bench-${run}`) === true)
      .map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
  );
}

async function main(): Promise<void> {
  const { smoke, cpuProf, only, nodeOptions } = parseArgs(process.argv.slice(2));
  const sizes = smoke ? SMOKE : FULL;
  const started = Date.now();
  const run = `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`;
  const workRoot = mkdtempSync(join(tmpdir(), 'bench-suite-'));
  const docker = new Docker();
  const ctx: BenchContext = {
    docker,
    run,
    workRoot,
    daemonExecArgv: [
      ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(workRoot, 'profiles')}`] : []),
      ...nodeOptions,
    ],
    smoke,
    say: (line) => {
      console.log(line);
    },
  };
  console.log(`Building the daemon host (compiled, as the daemon runs in production)…`);
  buildHost();
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    smoke,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      docker: '',
      loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
      loadAverageAtEnd: [],
      bareNodeRss: bareNodeRss(),
    },
    scenarioSeconds: {},
    rows: [],
  };
  const timedScenario = async <T>(name: Scenario, title: string, body: () => Promise<T>): Promise<T> => {
    console.log(`\n== ${title}`);
    const t0 = Date.now();
    try {
      return await body();
    } finally {
      results.scenarioSeconds[name] = (Date.now() - t0) / 1000;
    }
  };
  try {
    results.engine = await timedScenario('engine', "Engine's own figures", () =>
      engineReference(ctx, sizes.referenceRuns),
    );
    results.machine.docker = results.engine.dockerVersion;
    if (only.has('overhead')) {
      results.overhead = await timedScenario('overhead', '1-2. Overhead and platform calls', () =>
        overheadScenario(ctx, sizes.overhead),
      );
    }
    if (only.has('memory')) {
      results.memory = await timedScenario('memory', '3. Memory', () => memoryScenario(ctx, sizes.memory));
    }
    if (only.has('scale')) {
      results.scale = await timedScenario('scale', '4. Queue scale', () =>
        queueScaleScenario(ctx, sizes.scale),
      );
    }
    if (only.has('latency')) {
      results.latency = await timedScenario('latency', '5. Start latency', () =>
        latencyScenario(ctx, sizes.latency),
      );
    }
  } finally {
    await removeLeftovers(docker, run);
  }
  results.durationSeconds = (Date.now() - started) / 1000;
  results.machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  results.rows = rowsOf(results);

  const { machine } = results;
  const header =
    `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `Docker ${machine.docker}; load average (1, 5, 15 min) at start ${machine.loadAverageAtStart.join(' ')}, ` +
    `at the end ${machine.loadAverageAtEnd.join(' ')}; ` +
    `suite took ${fixed(results.durationSeconds / 60)} min${smoke ? ' (SMOKE sizes: figures meaningless)' : ''}`;
  console.log(`\n${header}\n\n${textTable(results.rows)}`);

  const stamp = results.startedAt.replace(/[:.]/g, '-');
  // Only plain full runs belong in bench/results; smoke and diagnostic runs stay in the scratch directory.
  const diagnostic = cpuProf || nodeOptions.length > 0;
  const outDir = smoke || diagnostic ? workRoot : fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, stamp);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(
    `${base}.md`,
    `# Benchmark ${results.startedAt}\n\n${header}\n\n${markdownTable(results.rows)}\n\n${detailsMarkdown(results)}`,
  );
  console.log(`\nWrote ${base}.json and ${base}.md`);
  if (cpuProf) console.log(`CPU profiles of the daemon: ${join(workRoot, 'profiles')}`);
  if (!smoke && !diagnostic) rmSync(workRoot, { recursive: true, force: true });
  else console.log(`Scratch directory (daemon logs): ${workRoot}`);
}

await main();
