import { describe, expect, it } from 'vitest';
import { SynapseError } from '../../../src/synapse/errors.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  withRetry,
  type RetryPolicy,
} from '../../../src/synapse/retry.js';

const policy: RetryPolicy = {
  maxAttempts: 6,
  initialDelayMs: 100,
  rateLimitInitialDelayMs: 1_000,
  maxDelayMs: 5_000,
  totalTimeMs: 60_000,
  requestTimeoutMs: 1_000,
};

const failure = (status?: number, code?: string) =>
  new SynapseError({
    reason: 'boom',
    method: 'GET',
    path: '/repo/v1/x',
    ...(status ? { status } : {}),
    ...(code ? { code } : {}),
  });

/** Runs `withRetry` on an operation failing with `errors` in turn, on a fake clock; returns what happened. */
async function run(errors: SynapseError[], options: Partial<RetryPolicy> = {}) {
  let clock = 0;
  const waits: number[] = [];
  let attempts = 0;
  const outcome = await withRetry(
    async () => {
      attempts += 1;
      const error = errors.shift();
      if (error) throw error;
      return 'ok';
    },
    { ...policy, ...options },
    {
      now: () => clock,
      random: () => 0.5, // no jitter: a factor of exactly 1
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    },
  ).catch((error: unknown) => error);
  return { outcome, attempts, waits };
}

describe('the retry policy', () => {
  it.each([429, 500, 502, 503, 504])('retries HTTP %i', async (status) => {
    const { outcome, attempts } = await run([failure(status), failure(status)]);
    expect(outcome).toBe('ok');
    expect(attempts).toBe(3);
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'SOCKET_HANG_UP', 'EAI_AGAIN'])(
    'retries the network error %s',
    async (code) => {
      const { outcome } = await run([failure(undefined, code)]);
      expect(outcome).toBe('ok');
    },
  );

  it.each([400, 401, 403, 404, 409, 410, 412])('never retries HTTP %i', async (status) => {
    const { outcome, attempts } = await run([failure(status)]);
    expect(outcome).toMatchObject({ status });
    expect(attempts).toBe(1);
  });

  it('backs off exponentially up to the cap', async () => {
    const { waits } = await run(Array.from({ length: 5 }, () => failure(503)));
    expect(waits).toEqual([100, 200, 400, 800, 1_600]);
    expect(backoffDelay(policy, 10, false, 0.5)).toBe(5_000);
  });

  it('starts slower after a 429, and stays slow for the rest of the call', async () => {
    const { waits } = await run([failure(429), failure(503), failure(503)]);
    expect(waits).toEqual([1_000, 2_000, 4_000]);
  });

  it('jitters each wait between half and one and a half times the base', () => {
    expect(backoffDelay(policy, 1, false, 0)).toBe(50);
    expect(backoffDelay(policy, 1, false, 0.999)).toBe(150);
  });

  it('gives up after the most attempts, with the last error', async () => {
    const { outcome, attempts } = await run(Array.from({ length: 10 }, () => failure(502)));
    expect(outcome).toMatchObject({ status: 502 });
    expect(attempts).toBe(6);
  });

  it('gives up when the next wait would pass the total time bound', async () => {
    const { outcome, attempts, waits } = await run(
      Array.from({ length: 10 }, () => failure(503)),
      { totalTimeMs: 1_000 },
    );
    expect(outcome).toMatchObject({ status: 503 });
    expect(waits).toEqual([100, 200, 400]);
    expect(attempts).toBe(4);
  });

  it('does not retry errors that are not Synapse errors (bugs)', async () => {
    let attempts = 0;
    await expect(
      withRetry(async () => {
        attempts += 1;
        throw new TypeError('bug');
      }, policy),
    ).rejects.toThrow('bug');
    expect(attempts).toBe(1);
  });

  it('has production defaults that bound a call to ten minutes', () => {
    expect(DEFAULT_RETRY_POLICY.totalTimeMs).toBe(600_000);
    expect(DEFAULT_RETRY_POLICY.rateLimitInitialDelayMs).toBeGreaterThan(DEFAULT_RETRY_POLICY.initialDelayMs);
  });
});
