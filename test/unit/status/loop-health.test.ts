/** The /healthz rules: start-up, long ticks, draining and stopping are healthy; a stuck or failing loop is not. */
import { describe, expect, it } from 'vitest';
import { assessLoopHealth, LoopActivity, loopHealthLimits } from '../../../src/status/loop-health.js';

const limits = loopHealthLimits(10); // POLL_INTERVAL_SECONDS=10: stale after 2 × 10 s + 60 s
const S = 1_000;
const MIN = 60 * S;

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
  };
}

describe('loop health', () => {
  it('is healthy while starting, until the start-up allowance runs out without a tick', () => {
    const c = clock();
    const loop = new LoopActivity(c.now);
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'starting',
    });
    c.advance(4 * MIN);
    expect(assessLoopHealth(loop.snapshot(), limits, c.now()).healthy).toBe(true);
    c.advance(2 * MIN);
    const late = assessLoopHealth(loop.snapshot(), limits, c.now());
    expect(late).toMatchObject({ healthy: false, state: 'stuck' });
    expect(late.reason).toMatch(/no tick has completed since the start 360 s ago/);
  });

  it('is healthy during a first tick slowed by retries, and during a long tick, up to the limit', () => {
    const c = clock();
    const loop = new LoopActivity(c.now);
    loop.tickStarted();
    c.advance(8 * MIN); // past the start-up allowance, but a tick is running
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'starting',
    });
    loop.tickEnded();
    c.advance(5 * S);
    loop.tickStarted();
    c.advance(14 * MIN);
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'ticking',
      tickRunningSeconds: 840,
    });
    c.advance(2 * MIN);
    const stuck = assessLoopHealth(loop.snapshot(), limits, c.now());
    expect(stuck).toMatchObject({ healthy: false, state: 'stuck' });
    expect(stuck.reason).toMatch(/a tick has been running for 960 s \(more than 900 s\)/);
  });

  it('is healthy between regular ticks and unhealthy once ticks stop coming', () => {
    const c = clock();
    const loop = new LoopActivity(c.now);
    for (let i = 0; i < 3; i++) {
      loop.tickStarted();
      c.advance(2 * S);
      loop.tickEnded();
      c.advance(10 * S);
    }
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'idle',
      lastGoodTickAgeSeconds: 10,
      lastTickSeconds: 2,
    });
    c.advance(70 * S); // 80 s since the last tick: the limit
    expect(assessLoopHealth(loop.snapshot(), limits, c.now()).healthy).toBe(true);
    c.advance(1 * S);
    const wedged = assessLoopHealth(loop.snapshot(), limits, c.now());
    expect(wedged).toMatchObject({ healthy: false, state: 'stuck' });
    expect(wedged.reason).toMatch(/no tick for 81 s \(one is due every 10 s\)/);
  });

  it('reports ticks that keep failing, with their error, once they have failed for too long', () => {
    const c = clock();
    const loop = new LoopActivity(c.now);
    loop.tickStarted();
    loop.tickEnded();
    for (let i = 0; i < 3; i++) {
      c.advance(10 * S);
      loop.tickStarted();
      loop.tickEnded(new Error('the state file cannot be written'));
    }
    // One failure now and then is not a broken loop.
    expect(assessLoopHealth(loop.snapshot(), limits, c.now()).healthy).toBe(true);
    for (let i = 0; i < 6; i++) {
      c.advance(10 * S);
      loop.tickStarted();
      // Even while the next (failing) tick runs, it is not reported healthy.
      if (i === 5) break;
      loop.tickEnded(new Error('the state file cannot be written'));
    }
    const failing = assessLoopHealth(loop.snapshot(), limits, c.now());
    expect(failing).toMatchObject({ healthy: false, state: 'failing', failuresInARow: 8 });
    expect(failing.reason).toMatch(/ticks keep failing .*: the state file cannot be written/);
    loop.tickEnded();
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'idle',
    });
  });

  it('is healthy while stopping, however long ago the last tick was', () => {
    const c = clock();
    const loop = new LoopActivity(c.now);
    loop.tickStarted();
    loop.tickEnded();
    loop.stopping();
    c.advance(30 * MIN);
    expect(assessLoopHealth(loop.snapshot(), limits, c.now())).toMatchObject({
      healthy: true,
      state: 'stopping',
    });
  });

  it('scales the staleness with the poll interval', () => {
    const slow = loopHealthLimits(600);
    const c = clock();
    const loop = new LoopActivity(c.now);
    loop.tickStarted();
    loop.tickEnded();
    c.advance(20 * MIN); // two intervals of 10 min
    expect(assessLoopHealth(loop.snapshot(), slow, c.now()).healthy).toBe(true);
    c.advance(2 * MIN);
    expect(assessLoopHealth(loop.snapshot(), slow, c.now()).healthy).toBe(false);
  });
});
