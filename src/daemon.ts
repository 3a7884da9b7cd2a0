/**
 * The schedule: a node-cron task wakes every second and starts a tick when POLL_INTERVAL_SECONDS have
 * passed since the last one began (any interval, not just divisors of a minute). A tick never overlaps the
 * previous one: a slow tick delays the next instead of running beside it.
 *
 * Stopping (SIGTERM, SIGINT) lets the current tick finish and exits; workflow containers keep running and
 * are picked up again by the next start.
 */
import cron from 'node-cron';
import type { Logger } from './logging/logger.js';
import type { TickSummary } from './evaluation/orchestrator.js';

export interface Tickable {
  runOnce(): Promise<TickSummary>;
}

export interface DaemonOptions {
  pollIntervalSeconds: number;
  logger: Logger;
  now?: () => number;
  /** Called after each tick (tests and the demo watch progress with it). */
  onTick?: (summary: TickSummary) => void;
}

export class Daemon {
  private task: ReturnType<typeof cron.schedule> | undefined;
  private current: Promise<void> | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private stopping = false;

  constructor(
    private readonly orchestrator: Tickable,
    private readonly options: DaemonOptions,
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
    this.options.logger.info('Orchestrator started', {
      pollIntervalSeconds: this.options.pollIntervalSeconds,
    });
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

  async stop(): Promise<void> {
    this.stopping = true;
    await this.task?.stop();
    await this.task?.destroy();
    await this.current;
    this.options.logger.info(
      'Orchestrator stopped; running workflows continue and are picked up at the next start',
    );
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
