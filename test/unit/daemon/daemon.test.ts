/** The schedule: ticks at the poll interval, never two at once, and a stop waits for the running tick. */
import { describe, expect, it } from 'vitest';
import { TickSchedule as Daemon } from '../../../src/tick-schedule.js';
import { createLogger } from '../../../src/logging/logger.js';
import { Writable } from 'node:stream';

const quietLogger = () =>
  createLogger({
    level: 'error',
    format: 'json',
    stream: new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  });

const summary = { started: 0, finished: 0, running: 0, deferred: 0, requeued: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Daemon', () => {
  it('never overlaps a slow tick, and stop() waits for the tick in progress', async () => {
    let active = 0;
    let most = 0;
    let ticks = 0;
    let finished = 0;
    const daemon = new Daemon(
      {
        async runOnce() {
          active++;
          ticks++;
          most = Math.max(most, active);
          await sleep(2_200); // longer than the 1 s interval
          active--;
          finished++;
          return summary;
        },
      },
      { pollIntervalSeconds: 1, logger: quietLogger() },
    );
    daemon.start();
    await sleep(5_500);
    await daemon.stop();
    expect(most).toBe(1);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(finished).toBe(ticks); // the last tick was not cut off
    const after = ticks;
    await sleep(1_500);
    expect(ticks).toBe(after); // nothing runs after stop
  }, 15_000);

  it('waits the poll interval between ticks, and a failing tick does not stop the schedule', async () => {
    const starts: number[] = [];
    const daemon = new Daemon(
      {
        runOnce() {
          starts.push(Date.now());
          return Promise.reject(new Error('Synapse is down'));
        },
      },
      { pollIntervalSeconds: 2, logger: quietLogger() },
    );
    daemon.start();
    await sleep(5_300);
    await daemon.stop();
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < starts.length; i++) {
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(1_900);
    }
  }, 15_000);
});
