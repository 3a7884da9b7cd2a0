/**
 * The engine's own figures, measured first (they also warm the images up): a bare `docker run --rm` of
 * local/busybox:1 `true`, and of the orchestrator's engine container running the trivial CWL job (the
 * container the other scenarios run), each the median of `times` runs, one at a time.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { QUICK_WORKFLOW } from '../support/challenge.js';
import type { BenchContext } from '../support/context.js';
import { dockerRunArgs, jobDirectoryFor, median, timed } from '../support/engine.js';

export interface EngineReference {
  dockerVersion: string;
  busyboxRunMs: number[];
  busyboxRunMedianMs: number;
  engineJobRunMs: number[];
  engineJobRunMedianMs: number;
}

export async function engineReference(ctx: BenchContext, times = 5): Promise<EngineReference> {
  const dockerVersion = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
    encoding: 'utf8',
  }).trim();
  const busyboxRunMs: number[] = [];
  for (let i = 0; i < times; i++) {
    busyboxRunMs.push(await timed('docker', ['run', '--rm', 'local/busybox:1', 'true']));
  }
  const engineJobRunMs: number[] = [];
  for (let i = 0; i < times; i++) {
    const directory = await jobDirectoryFor(join(ctx.workRoot, 'reference'), `run-${i}`, QUICK_WORKFLOW);
    engineJobRunMs.push(await timed('docker', dockerRunArgs(directory)));
  }
  return {
    dockerVersion,
    busyboxRunMs,
    busyboxRunMedianMs: median(busyboxRunMs),
    engineJobRunMs,
    engineJobRunMedianMs: median(engineJobRunMs),
  };
}
