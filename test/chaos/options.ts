/**
 * What a chaos run does: the command line (`--short`, `--seed N`, `--runs N`) and the two profiles it
 * picks between. The full profile is issue 12's: 100 submissions over 2 queues, 3 instances, a quarter of
 * platform requests faulty, several SIGKILLs and one Docker engine restart. The short one is the same
 * with fewer of everything, and without the engine restart (it runs inside ./scripts/test).
 */

export interface Profile {
  name: 'short' | 'full';
  submissions: number;
  /** Submitted (and cancelled at once) before any instance starts: they must end without running. */
  cancelledBeforeStart: number;
  /** Submitted before the instances start; the rest arrive while they run. */
  submittedUpFront: number;
  /** Seconds over which the rest arrive. */
  arrivalSeconds: number;
  instances: number;
  maxConcurrentPerInstance: number;
  /** SIGKILLs of a random instance at random moments, each followed by a restart. */
  kills: number;
  restartDockerEngine: boolean;
  /** Share of platform requests (Synapse API and object store) answered with a fault. */
  faultRate: number;
  /** The platform's message limit per sender, and every instance's MESSAGES_PER_MINUTE. */
  messagesPerMinute: number;
  logUploadIntervalSeconds: number;
  /** The whole run (until every submission is final) must end within this. */
  timeoutSeconds: number;
  /** After every submission is final: quiet this long (no message, no write) before stopping. */
  quietSeconds: number;
  settleTimeoutSeconds: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    submissions: 100,
    cancelledBeforeStart: 4,
    submittedUpFront: 30,
    arrivalSeconds: 120,
    instances: 3,
    maxConcurrentPerInstance: 3,
    kills: 6,
    restartDockerEngine: true,
    faultRate: 0.25,
    messagesPerMinute: 60,
    logUploadIntervalSeconds: 5,
    timeoutSeconds: 12 * 60,
    quietSeconds: 15,
    settleTimeoutSeconds: 150,
  },
  short: {
    name: 'short',
    submissions: 20,
    cancelledBeforeStart: 2,
    submittedUpFront: 8,
    arrivalSeconds: 20,
    instances: 3,
    maxConcurrentPerInstance: 2,
    kills: 2,
    restartDockerEngine: false,
    faultRate: 0.25,
    messagesPerMinute: 30,
    logUploadIntervalSeconds: 5,
    timeoutSeconds: 4 * 60,
    quietSeconds: 10,
    settleTimeoutSeconds: 120,
  },
};

export interface Options {
  profile: Profile;
  seed: number;
  /** Runs in a row (seed, seed + 1, …); all must pass. */
  runs: number;
}

export const USAGE = 'usage: tsx test/chaos/run.ts [--short] [--seed N] [--runs N]';

export function parseOptions(argv: readonly string[]): Options {
  let short = false;
  let seed = Math.floor(Date.now() % 100_000);
  let runs = 1;
  const number = (value: string | undefined, name: string): number => {
    const parsed = Number(value);
    if (value === undefined || !Number.isSafeInteger(parsed) || parsed < 0) {
      throw new Error(`${name} needs a whole number. ${USAGE}`);
    }
    return parsed;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--short') short = true;
    else if (arg === '--seed') seed = number(argv[++i], '--seed');
    else if (arg === '--runs') runs = Math.max(1, number(argv[++i], '--runs'));
    else throw new Error(`Unknown argument ${String(arg)}. ${USAGE}`);
  }
  return { profile: PROFILES[short ? 'short' : 'full'], seed, runs };
}
