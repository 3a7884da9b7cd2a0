/**
 * An engine that stops answering (a Docker engine restarting, a WES server down for maintenance) makes
 * submissions wait, not fail: nothing new starts and running ones are looked at again next tick. The
 * organizers hear of it once per outage, when it has lasted long enough to be more than a restart.
 */
import type { Services } from './services.js';

/** Shorter outages (an engine restart, a server redeploy) are only logged. */
export const OUTAGE_ALERT_AFTER_MS = 5 * 60_000;

export class EngineOutage {
  private since: number | undefined;
  private alerted = false;

  constructor(private readonly ctx: Services) {}

  /** The engine did not answer (the tick's listing failed). */
  failed(error: unknown): void {
    const { ctx } = this;
    const now = ctx.now();
    this.since ??= now;
    const minutes = Math.round((now - this.since) / 60_000);
    ctx.logger.error(`${capitalized(ctx.engine.description)} does not answer; nothing new starts this tick`, {
      error: (error as Error).message,
      downMinutes: minutes,
    });
    if (this.alerted || now - this.since < ctx.engineOutageAlertMs) return;
    this.alerted = true;
    ctx.alerts.report({
      key: `engine-unavailable:${new Date(this.since).toISOString()}`,
      subject: 'The workflow engine does not answer',
      body:
        `${capitalized(ctx.engine.description)} has not answered since ${new Date(this.since).toISOString()} ` +
        `(${minutes} minutes). Submissions wait in their queues and running ones are looked at again once it ` +
        `answers; none is failed for it. The last error: ${(error as Error).message}`,
    });
  }

  /** The engine answers: an outage, if there was one, is over. */
  answered(): void {
    if (this.since === undefined) return;
    this.ctx.logger.info(`${capitalized(this.ctx.engine.description)} answers again`, {
      downMinutes: Math.round((this.ctx.now() - this.since) / 60_000),
    });
    this.since = undefined;
    this.alerted = false;
  }
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
