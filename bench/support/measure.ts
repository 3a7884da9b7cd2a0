/**
 * Shared by the memory benchmarks: a garbage collection on demand, and the local platform started in a
 * child process (so only this process's side is measured).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ServedPlatform {
  url: string;
  adminToken: string;
  dataDir: string;
}

/** heapUsed + external: everything JavaScript holds (Buffers included, in external). */
export const managed = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external;

/**
 * A garbage collection on demand, so the baseline is not inflated by leftovers. Buffers' memory is released
 * after the collection, on a later tick, hence the pause and the second round.
 */
export function collector(): () => Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') return () => Promise.resolve();
  const collect = gc as () => void;
  return async () => {
    collect();
    await sleep(50);
    collect();
    await sleep(10);
  };
}

/** Starts serve-local-platform.ts in a child process and reads its one line of JSON. */
export async function startPlatformProcess(): Promise<{ served: ServedPlatform; stop: () => void }> {
  const script = fileURLToPath(new URL('./serve-local-platform.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`the platform process exited (${code ?? 'signal'}) before it was ready`));
    });
  });
  lines.close();
  return {
    served: JSON.parse(first) as ServedPlatform,
    stop: () => {
      child.stdin.end();
    },
  };
}
