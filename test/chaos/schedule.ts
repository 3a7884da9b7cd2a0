/**
 * When things happen in a run, all drawn from the seed: when each later submission arrives, at which
 * progress each SIGKILL lands (the share of submissions already final, plus a few seconds, so kills fall
 * while jobs start, run and finish rather than at the quiet end), which instance it hits and how long it
 * stays down, and when the Docker engine restarts.
 */
import type { Profile } from './options.js';
import type { Random } from './random.js';

export interface PlannedKill {
  /** Kill once this share of submissions is final… */
  progress: number;
  /** …and this much later. */
  delayMs: number;
  instance: number;
  downMs: number;
}

export interface Schedule {
  /** Milliseconds after the instances start, one per submission that arrives later. */
  arrivals: number[];
  kills: PlannedKill[];
  /** Share of submissions final when the engine restarts; undefined: no restart. */
  engineRestartProgress: number | undefined;
  /** Extra delay (on top of its first seconds) before asking to cancel a running `cancel` workload. */
  cancelDelayMs(): number;
}

export function makeSchedule(profile: Profile, random: Random): Schedule {
  const later = profile.submissions - profile.submittedUpFront;
  const step = (profile.arrivalSeconds * 1000) / Math.max(1, later);
  const arrivals = Array.from({ length: later }, (_, i) => Math.round(step * i + random.between(0, step)));
  const kills = Array.from({ length: profile.kills }, () => ({
    progress: random.between(0.03, 0.8),
    delayMs: random.int(0, 3_000),
    instance: random.int(0, profile.instances - 1),
    downMs: random.int(1_000, 6_000),
  })).sort((a, b) => a.progress - b.progress);
  return {
    arrivals,
    kills,
    engineRestartProgress: profile.restartDockerEngine ? random.between(0.3, 0.6) : undefined,
    cancelDelayMs: () => random.int(500, 4_000),
  };
}
