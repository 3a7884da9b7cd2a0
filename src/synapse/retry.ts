/**
 * The one retry policy for every Synapse call: exponential backoff with jitter, a slower start after a
 * 429 (Synapse sends no Retry-After), and a bound on the total time spent. Only retryable errors (see
 * SynapseError.retryable) are retried; 400/401/403/404/409/412 never are.
 */
import { SynapseError } from './errors.js';

export interface RetryPolicy {
  /** Most attempts in all, the first included. */
  maxAttempts: number;
  /** First wait after a retryable failure. */
  initialDelayMs: number;
  /** First wait when the failure was a 429. */
  rateLimitInitialDelayMs: number;
  /** No single wait is longer than this. */
  maxDelayMs: number;
  /** Give up when the next wait would end past this much time since the first attempt. */
  totalTimeMs: number;
  /** Timeout of each HTTP request. */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 12,
  initialDelayMs: 1_000,
  rateLimitInitialDelayMs: 5_000,
  maxDelayMs: 30_000,
  totalTimeMs: 10 * 60_000,
  requestTimeoutMs: 60_000,
};

export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** A number in [0, 1); jitter multiplies each wait by 0.5 + random(). */
  random?: () => number;
  onRetry?: (error: SynapseError, attempt: number, delayMs: number) => void;
}

/** Whether a failure is worth another attempt (and whether it was a rate limit, which starts slower). */
export type RetryClassifier = (error: unknown) => { retryable: boolean; rateLimited: boolean };

/** Synapse's: only SynapseErrors it marks retryable (see SynapseError.retryable). */
const synapseClassifier: RetryClassifier = (error) =>
  error instanceof SynapseError
    ? { retryable: error.retryable, rateLimited: error.status === 429 }
    : { retryable: false, rateLimited: false };

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(
  policy: RetryPolicy,
  retry: number,
  rateLimited: boolean,
  random: number,
): number {
  const start = rateLimited ? policy.rateLimitInitialDelayMs : policy.initialDelayMs;
  const exponential = Math.min(policy.maxDelayMs, start * 2 ** (retry - 1));
  return Math.round(Math.min(policy.maxDelayMs, exponential * (0.5 + random)));
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
  classify: RetryClassifier = synapseClassifier,
): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  const now = hooks.now ?? Date.now;
  const random = hooks.random ?? Math.random;
  const started = now();
  let rateLimited = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const kind = classify(error);
      if (!kind.retryable || attempt >= policy.maxAttempts) throw error;
      // Once throttled, stay on the slower schedule for the rest of this call.
      rateLimited ||= kind.rateLimited;
      const delay = backoffDelay(policy, attempt, rateLimited, random());
      if (now() - started + delay > policy.totalTimeMs) throw error;
      if (error instanceof SynapseError) hooks.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
