/** What every scenario of the suite is given, and small helpers they share. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { Challenge } from './challenge.js';

export interface BenchContext {
  docker: Docker;
  /** A name for this run, unique on the engine: containers and orchestrator ids are derived from it. */
  run: string;
  /** Scratch directory of this run (job directories, daemon logs). */
  workRoot: string;
  /** Node options for the daemon process (e.g. --cpu-prof), from the command line. */
  daemonExecArgv: string[];
  /** Tiny sizes, for checking that the suite works (figures meaningless). */
  smoke: boolean;
  /** Progress lines. */
  say: (line: string) => void;
}

export const logFileOf = (ctx: BenchContext, scenario: string): string =>
  join(ctx.workRoot, `daemon-${scenario}.log`);

/** Polls `done` every `everyMs` until it is true; throws after `timeoutMs` with `what`. */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** True when `count` of the challenge's submissions are ACCEPTED; throws as soon as one ends otherwise. */
export function allAccepted(challenge: Challenge, count: number): () => boolean {
  return () => {
    const counts = challenge.countByStatus();
    const failed = (counts.INVALID ?? 0) + (counts.REJECTED ?? 0) + (counts.CLOSED ?? 0);
    if (failed > 0) {
      throw new Error(`${failed} bench submission(s) did not end ACCEPTED: ${JSON.stringify(counts)}`);
    }
    return (counts.ACCEPTED ?? 0) >= count;
  };
}

export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
