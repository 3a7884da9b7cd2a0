/**
 * The schedule: a node-cron task wakes every second and starts a tick when POLL_INTERVAL_SECONDS have
 * passed since the last one began (any interval, not just divisors of a minute). A tick never overlaps the
 * previous one: a slow tick delays the next instead of running beside it. `stop(graceMs)` starts no more
 * ticks and waits for the current one, at most `graceMs`.
 */
import cron from 'node-cron';
import type { Logger } from './logging/logger.js';
import type { TickSummary } from './evaluation/orchestrator.js';

export interface Tickable {
  runOnce(): Promise<TickSummary>;
}

export interface TickScheduleOptions {
  pollIntervalSeconds: number;
  logger: Logger;
  now?: () => number;
  /** Called after each tick (tests and the demo watch progress with it). */
  onTick?: (summary: TickSummary) => void;
}

export class TickSchedule {
  private task: ReturnType<typeof cron.schedule> | undefined;
  private current: Promise<void> | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private stopping = false;

  constructor(
    private readonly orchestrator: Tickable,
    private readonly options: TickScheduleOptions,
  ) {}

  start(): void {
    const now = this.options.now ?? Date.now;
    this.task = cron.schedule(
      '* * * * * *',
      () => {
        if (this.stopping || this.current !== undefined) return;
        if (now() - this.lastStart < this.options.pollIntervalSeconds * 1000) return;
        this.lastStart = now();
        this.current = this.tick().finally(() => {
          this.current = undefined;
        });
      },
      { name: 'orchestrator-tick', noOverlap: true },
    );
  }

  /** Runs a tick now, unless one is running (then waits for that one). */
  async tickNow(): Promise<void> {
    if (this.current === undefined) {
      this.lastStart = (this.options.now ?? Date.now)();
      this.current = this.tick().finally(() => {
        this.current = undefined;
      });
    }
    await this.current;
  }

  /** Starts no more ticks; waits for the one in progress, at most `graceMs`. True when it ended in time. */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.stopping = true;
    await this.task?.stop();
    await this.task?.destroy();
    const current = this.current;
    if (current === undefined) return true;
    if (!Number.isFinite(graceMs)) {
      await current;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      current.then(() => true),
      new Promise<boolean>(
        (resolve) =>
          (timer = setTimeout(() => {
            resolve(false);
          }, graceMs)),
      ),
    ]);
    clearTimeout(timer);
    return ended;
  }

  private async tick(): Promise<void> {
    try {
      const summary = await this.orchestrator.runOnce();
      this.options.onTick?.(summary);
      if (summary.started + summary.finished > 0) this.options.logger.info('Tick', { ...summary });
      else this.options.logger.debug('Tick', { ...summary });
    } catch (error) {
      this.options.logger.error('Tick failed; trying again at the next one', {
        error: (error as Error).message,
      });
    }
  }
}
