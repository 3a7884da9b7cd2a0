/**
 * Whether this instance can do its work now, for `GET /readyz`: the platform (Synapse, or the local
 * platform) and the Docker engine both answer. Each dependency gets one quick call with a timeout (no
 * retries: a probe must answer within a probe's time), and the answer is kept for a few seconds so a
 * scraper or a load balancer polling often does not turn into calls to Synapse. Concurrent requests share
 * one probe.
 */

export interface Dependency {
  /** What an operator calls it: "platform", "engine". */
  name: string;
  /** Where it is (a URL), for the message. Never holds a secret. */
  target: string;
  /** Resolves when it answers; rejects with why not. */
  check: () => Promise<unknown>;
}

export interface DependencyResult {
  name: string;
  target: string;
  ok: boolean;
  /** How long the check took, in ms. */
  ms: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  /** The dependencies that did not answer, by name ("platform, engine"). */
  reason?: string;
  checks: DependencyResult[];
  /** When the checks ran (ISO). */
  checkedAt: string;
}

export interface ReadinessOptions {
  /** Each check's time limit (default 2.5 s). */
  timeoutMs?: number;
  /** How long an answer is reused (default 10 s). */
  cacheMs?: number;
  now?: () => number;
}

export class TimeoutError extends Error {}

/** `promise`, or a TimeoutError after `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`${what} did not answer within ${ms} ms`));
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export class ReadinessProbe {
  private cached: { at: number; result: Readiness } | undefined;
  private inFlight: Promise<Readiness> | undefined;
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly dependencies: readonly Dependency[],
    options: ReadinessOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2_500;
    this.cacheMs = options.cacheMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** The latest answer, probing again when it is older than the cache time. */
  async check(): Promise<Readiness> {
    if (this.cached !== undefined && this.now() - this.cached.at < this.cacheMs) return this.cached.result;
    this.inFlight ??= this.probe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async probe(): Promise<Readiness> {
    const at = this.now();
    const checks = await Promise.all(
      this.dependencies.map(async (dependency): Promise<DependencyResult> => {
        const began = this.now();
        try {
          await withTimeout(dependency.check(), this.timeoutMs, `the ${dependency.name}`);
          return { name: dependency.name, target: dependency.target, ok: true, ms: this.now() - began };
        } catch (error) {
          return {
            name: dependency.name,
            target: dependency.target,
            ok: false,
            ms: this.now() - began,
            error: error instanceof Error ? error.message : String(error),
          };
        }
      }),
    );
    const failed = checks.filter((c) => !c.ok);
    const result: Readiness = {
      ready: failed.length === 0,
      ...(failed.length === 0
        ? {}
        : {
            reason: failed
              .map((c) => `the ${c.name} (${c.target}) does not answer: ${c.error ?? 'no answer'}`)
              .join('; '),
          }),
      checks,
      checkedAt: new Date(at).toISOString(),
    };
    this.cached = { at: this.now(), result };
    return result;
  }
}
