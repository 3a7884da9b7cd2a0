/**
 * The orchestrator daemon in a process of its own, for the suite (bench/run.ts): the real
 * OrchestratorDaemon, configured from the environment as `synapse-orchestrator run` is, with its log on
 * stdout. Only the daemon lives in this process, so its RSS is the orchestrator's (the platform and the
 * bench's own bookkeeping are in the parent). It runs compiled (bench/tsconfig.host.json), as
 * `node dist/cli.js run` does: under tsx the loader thread and the transform alone add some 50 MiB.
 *
 * Driven over the IPC channel (see daemon-process.ts): `start` begins the daemon's own schedule, as `run`
 * does; `tick` runs one `runOnce()` and times it; `settle` waits for updates and messages still under way;
 * `calls` reads (and resets) the platform calls made so far, by endpoint, with the number of ticks; `stop`
 * stops the daemon and ends the process.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { loadConfig } from '../../src/config/index.js';
import { OrchestratorDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/logging/logger.js';
import { countCalls, type CallCounts } from './calls.js';

export type HostRequest =
  | { op: 'start' }
  | { op: 'tick' }
  | { op: 'settle'; timeoutMs: number }
  | { op: 'calls'; reset: boolean }
  | { op: 'spans'; reset: boolean }
  | { op: 'memory'; gc: boolean }
  | { op: 'stop' };

/** Time spent in one kind of step: calls ended, their summed and longest wall time (they may overlap). */
export interface Span {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface TickTiming {
  ms: number;
  /** CPU time this process used during the tick (user + system). */
  cpuMs: number;
  summary: { started: number; finished: number; running: number; deferred: number; requeued: number };
}

/** What the RSS is made of, as V8 and Node see it (bytes): for reading a peak. */
export interface MemoryComposition {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Per V8 heap space: its size (committed) and what is used in it. */
  spaces: Record<string, { size: number; used: number }>;
}

export interface CallsSoFar {
  calls: CallCounts;
  /** Scheduled ticks ended since the last reset. */
  ticks: number;
}

export type HostMessage =
  | { kind: 'ready'; pid: number }
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string };

function send(message: HostMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const { config } = loadConfig({ envFile: '/nonexistent/.env' });
  const logger = createLogger({ level: config.logging.level, format: config.logging.format });
  let ticks = 0;
  const daemon = await OrchestratorDaemon.create(config, logger, {
    statusServerAnyPort: true,
    onTick: () => {
      ticks += 1;
    },
  });

  // Every Synapse call the orchestrator makes, by why and endpoint (once per call, however many attempts).
  const counter = countCalls(daemon.services);
  const http = daemon.services.client.http;

  // Timing spans: the steps a tick is made of, wrapped where the orchestrator calls them (services).
  let spans = new Map<string, Span>();
  const timeMethod = (target: object, method: string, name: string) => {
    const record = target as Record<string, unknown>;
    const fn = record[method];
    if (typeof fn !== 'function') return;
    const bound = (fn as (...args: unknown[]) => unknown).bind(target);
    record[method] = (...args: unknown[]) => {
      const started = performance.now();
      const end = () => {
        const ms = performance.now() - started;
        const span = spans.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
        spans.set(name, {
          count: span.count + 1,
          totalMs: span.totalMs + ms,
          maxMs: Math.max(span.maxMs, ms),
        });
      };
      const result = bound(...args);
      if (result instanceof Promise) return result.finally(end);
      end();
      return result;
    };
  };
  const { services } = daemon;
  for (const method of ['start', 'list', 'state', 'remove', 'progress']) {
    timeMethod(services.engine, method, `engine.${method}`);
  }
  timeMethod(services.client.evaluations, 'bundles', 'platform: queue listing (all pages)');
  timeMethod(services.client.evaluations, 'updateStatus', 'platform: status update (read, merge, write)');
  timeMethod(services.client.files, 'uploadFile', 'platform: file upload');
  timeMethod(services.client.files, 'uploadText', 'platform: message body upload');
  timeMethod(services.folders, 'forSubmission', 'platform: submission folders');
  timeMethod(services.templates, 'prepare', 'template: prepare');
  timeMethod(services.templates, 'copyTo', 'template: copy to the job directory');
  timeMethod(http, 'request', 'platform: any call');
  // The schedule calls the daemon's runOnce: every tick, scheduled or asked for.
  timeMethod(daemon, 'runOnce', 'tick (runOnce)');

  const handle = async (request: HostRequest): Promise<unknown> => {
    switch (request.op) {
      case 'start':
        daemon.start();
        return undefined;
      case 'tick': {
        const cpu = process.cpuUsage();
        const started = performance.now();
        const summary = await daemon.runOnce();
        const ms = performance.now() - started;
        const used = process.cpuUsage(cpu);
        return { ms, cpuMs: (used.user + used.system) / 1000, summary } satisfies TickTiming;
      }
      case 'settle':
        await daemon.settle(request.timeoutMs);
        return undefined;
      case 'calls': {
        const counts: CallsSoFar = { calls: counter.counts(), ticks };
        if (request.reset) {
          counter.reset();
          ticks = 0;
        }
        return counts;
      }
      case 'spans': {
        const result = Object.fromEntries(spans);
        if (request.reset) spans = new Map();
        return result;
      }
      case 'memory': {
        // A collection first, when the process was started with --expose-gc (a diagnostic run): what is held.
        const gc = (globalThis as { gc?: () => void }).gc;
        if (request.gc && gc !== undefined) gc();
        const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
        const spaces = Object.fromEntries(
          getHeapSpaceStatistics().map((space) => [
            space.space_name,
            { size: space.space_size, used: space.space_used_size },
          ]),
        );
        return { rss, heapTotal, heapUsed, external, arrayBuffers, spaces } satisfies MemoryComposition;
      }
      case 'stop':
        await daemon.stop();
        return undefined;
    }
  };

  process.on('message', (message: { id: number; request: HostRequest }) => {
    void handle(message.request).then(
      (result) => {
        send({ kind: 'reply', id: message.id, ok: true, result });
        if (message.request.op === 'stop') process.disconnect();
      },
      (error: unknown) => {
        send({ kind: 'reply', id: message.id, ok: false, error: (error as Error).message });
      },
    );
  });
  // The parent went away without a stop: nothing is left running here.
  process.on('disconnect', () => {
    void daemon.stop(1000).finally(() => process.exit(0));
  });
  send({ kind: 'ready', pid: process.pid });
}

await main();
