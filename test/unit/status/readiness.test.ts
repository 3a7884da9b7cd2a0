/** /readyz: each dependency checked with a time limit, the answer cached, failures named. */
import { describe, expect, it } from 'vitest';
import { ReadinessProbe } from '../../../src/status/readiness.js';

describe('readiness', () => {
  it('is ready when every dependency answers, and reuses the answer for the cache time', async () => {
    let calls = 0;
    let now = 0;
    const probe = new ReadinessProbe(
      [
        {
          name: 'platform',
          target: 'http://p',
          check: async () => {
            calls++;
          },
        },
        {
          name: 'engine',
          target: 'unix:///e',
          check: async () => {
            calls++;
          },
        },
      ],
      { cacheMs: 10_000, now: () => now },
    );
    expect(await probe.check()).toMatchObject({ ready: true });
    await probe.check();
    expect(calls).toBe(2);
    now = 10_001;
    await probe.check();
    expect(calls).toBe(4);
  });

  it('shares one probe between requests that arrive together', async () => {
    let calls = 0;
    const probe = new ReadinessProbe([
      {
        name: 'engine',
        target: 'e',
        check: async () => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        },
      },
    ]);
    await Promise.all([probe.check(), probe.check(), probe.check()]);
    expect(calls).toBe(1);
  });

  it('names the dependency that fails and the one that hangs, within the time limit', async () => {
    const probe = new ReadinessProbe(
      [
        {
          name: 'platform',
          target: 'https://repo-prod.prod.sagebase.org/repo/v1',
          check: () => new Promise(() => undefined),
        },
        {
          name: 'engine',
          target: 'unix:///var/run/docker.sock',
          check: () => Promise.reject(new Error('connect ENOENT')),
        },
      ],
      { timeoutMs: 200 },
    );
    const began = Date.now();
    const result = await probe.check();
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(result.ready).toBe(false);
    expect(result.reason).toContain(
      'the platform (https://repo-prod.prod.sagebase.org/repo/v1) does not answer: the platform did not answer within 200 ms',
    );
    expect(result.reason).toContain(
      'the engine (unix:///var/run/docker.sock) does not answer: connect ENOENT',
    );
    expect(result.checks.map((c) => c.ok)).toEqual([false, false]);
  });
});
