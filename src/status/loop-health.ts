/**
 * Whether the daemon's loop is alive, for `GET /healthz` and the image's HEALTHCHECK. The loop records
 * when each tick begins and how it ends (LoopActivity); `assessLoopHealth` turns that into healthy or not,
 * with a reason a person can act on. The rules:
 *
 * - Starting (no tick has ended yet): healthy for a start-up allowance, which covers waiting for an engine
 *   that does not answer yet (60 s) and a first tick slowed down by retries.
 * - A tick in progress: healthy until it has run for `maxTickMs`. A tick can be long when the platform
 *   is slow (each call may retry for up to 10 minutes), which is not a wedged loop; one running far longer
 *   is.
 * - Between ticks: healthy while the last tick that ended well is recent (a few poll intervals and a
 *   margin). Ticks that keep failing are reported with their error once that is no longer the case.
 * - Draining and stopping are healthy: the loop still runs (draining) or is going away on purpose.
 *
 * Readiness (can it reach the platform and the engine) is a different question: readiness.ts.
 */

export interface LoopHealthLimits {
  /** POLL_INTERVAL_SECONDS, in ms. */
  pollIntervalMs: number;
  /** How long a start may take before the first tick has ended. */
  startupGraceMs: number;
  /** How long one tick may run. */
  maxTickMs: number;
  /** Added to the poll interval (twice) before the last good tick counts as too old. */
  marginMs: number;
}

/** Ticks retry platform calls for up to 10 minutes; a tick longer than this is stuck. */
export const DEFAULT_MAX_TICK_MS = 15 * 60_000;
/** Waiting for the engine (60 s) and a first tick slowed down by retries. */
export const DEFAULT_STARTUP_GRACE_MS = 5 * 60_000;
export const DEFAULT_MARGIN_MS = 60_000;

export function loopHealthLimits(pollIntervalSeconds: number): LoopHealthLimits {
  return {
    pollIntervalMs: pollIntervalSeconds * 1000,
    startupGraceMs: DEFAULT_STARTUP_GRACE_MS,
    maxTickMs: DEFAULT_MAX_TICK_MS,
    marginMs: DEFAULT_MARGIN_MS,
  };
}

/** What the loop has done so far, as the health rules need it (all times in ms since the epoch). */
export interface LoopSnapshot {
  startedAt: number;
  /** When the tick now running began, if one runs. */
  tickStartedAt: number | undefined;
  /** When the last tick ended, well or not. */
  lastTickEndedAt: number | undefined;
  /** When the last tick that did not fail ended. */
  lastGoodTickAt: number | undefined;
  /** How long the last tick took. */
  lastTickMs: number | undefined;
  /** The error of the last tick, when it failed. */
  lastError: string | undefined;
  /** Ticks that failed in a row. */
  failuresInARow: number;
  /** The daemon is stopping (set once stop() begins). */
  stopping: boolean;
}

/** Records each tick of one daemon. */
export class LoopActivity {
  private readonly state: LoopSnapshot;

  constructor(private readonly now: () => number = Date.now) {
    this.state = {
      startedAt: now(),
      tickStartedAt: undefined,
      lastTickEndedAt: undefined,
      lastGoodTickAt: undefined,
      lastTickMs: undefined,
      lastError: undefined,
      failuresInARow: 0,
      stopping: false,
    };
  }

  tickStarted(): void {
    this.state.tickStartedAt = this.now();
  }

  tickEnded(error?: unknown): void {
    const now = this.now();
    const began = this.state.tickStartedAt ?? now;
    this.state.tickStartedAt = undefined;
    this.state.lastTickEndedAt = now;
    this.state.lastTickMs = now - began;
    if (error === undefined) {
      this.state.lastGoodTickAt = now;
      this.state.lastError = undefined;
      this.state.failuresInARow = 0;
    } else {
      this.state.lastError =
        error instanceof Error ? error.message : typeof error === 'string' ? error : 'unknown error';
      this.state.failuresInARow += 1;
    }
  }

  stopping(): void {
    this.state.stopping = true;
  }

  snapshot(): Readonly<LoopSnapshot> {
    return { ...this.state };
  }
}

export interface LoopHealth {
  healthy: boolean;
  /** starting, ticking (a tick in progress), idle (between ticks), stopping; stuck or failing when not healthy. */
  state: 'starting' | 'ticking' | 'idle' | 'stopping' | 'stuck' | 'failing';
  /** Why it is not healthy (or a note when it is). */
  reason?: string;
  /** Seconds since the last tick that ended well; absent before the first one. */
  lastGoodTickAgeSeconds?: number;
  /** Seconds the tick in progress has been running. */
  tickRunningSeconds?: number;
  lastTickSeconds?: number;
  failuresInARow?: number;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function assessLoopHealth(
  loop: Readonly<LoopSnapshot>,
  limits: LoopHealthLimits,
  now: number,
): LoopHealth {
  const facts: Omit<LoopHealth, 'healthy' | 'state'> = {
    ...(loop.lastGoodTickAt === undefined
      ? {}
      : { lastGoodTickAgeSeconds: seconds(now - loop.lastGoodTickAt) }),
    ...(loop.tickStartedAt === undefined ? {} : { tickRunningSeconds: seconds(now - loop.tickStartedAt) }),
    ...(loop.lastTickMs === undefined ? {} : { lastTickSeconds: seconds(loop.lastTickMs) }),
    ...(loop.failuresInARow === 0 ? {} : { failuresInARow: loop.failuresInARow }),
  };
  if (loop.stopping) return { healthy: true, state: 'stopping', ...facts };

  const running = loop.tickStartedAt === undefined ? undefined : now - loop.tickStartedAt;
  if (running !== undefined && running > limits.maxTickMs) {
    return {
      healthy: false,
      state: 'stuck',
      reason: `a tick has been running for ${Math.round(running / 1000)} s (more than ${Math.round(limits.maxTickMs / 1000)} s): the loop looks stuck`,
      ...facts,
    };
  }
  const staleAfter = 2 * limits.pollIntervalMs + limits.marginMs;
  const sinceStart = now - loop.startedAt;
  const goodAge = loop.lastGoodTickAt === undefined ? undefined : now - loop.lastGoodTickAt;
  if (loop.lastError !== undefined) {
    const failingFor = goodAge ?? sinceStart;
    const allowed = goodAge === undefined ? Math.max(limits.startupGraceMs, staleAfter) : staleAfter;
    if (failingFor > allowed) {
      return {
        healthy: false,
        state: 'failing',
        reason: `ticks keep failing (${loop.failuresInARow} in a row; ${goodAge === undefined ? 'none has completed since the start' : `the last one that completed ended ${Math.round(goodAge / 1000)} s ago`}): ${loop.lastError}`,
        ...facts,
      };
    }
  }
  if (running !== undefined) {
    return { healthy: true, state: loop.lastTickEndedAt === undefined ? 'starting' : 'ticking', ...facts };
  }
  if (goodAge === undefined) {
    if (sinceStart <= limits.startupGraceMs) return { healthy: true, state: 'starting', ...facts };
    return {
      healthy: false,
      state: 'stuck',
      reason: `no tick has completed since the start ${Math.round(sinceStart / 1000)} s ago`,
      ...facts,
    };
  }
  if (goodAge > staleAfter) {
    return {
      healthy: false,
      state: 'stuck',
      reason: `no tick for ${Math.round(goodAge / 1000)} s (one is due every ${Math.round(limits.pollIntervalMs / 1000)} s): the loop looks stuck`,
      ...facts,
    };
  }
  return { healthy: true, state: 'idle', ...facts };
}
