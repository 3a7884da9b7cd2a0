/**
 * The daemon as one object with a life: `create` acquires what it needs (the engine connection, the
 * Synapse client, the outbox and its sender, the orchestrator), `start` begins the schedule, `runOnce` is
 * one tick (for `run --once` and tests), `stop(grace)` winds it down, and `dispose` releases everything it
 * acquired, in reverse order. Every command that runs the orchestrator (run, demo, try) uses this, so
 * shutdown is the same everywhere.
 *
 * Stopping (SIGTERM, SIGINT): nothing new is claimed, the tick in progress and the writes under way get
 * the grace period (6 s by default; with the last log lines, well inside compose's 10 s), and the process goes; workflow containers keep
 * running. Anything cut short is redone at the next start: a claim whose container was never asked for
 * goes back to the queue, a container that ended meanwhile is finished then, and a message is sent from
 * where the outbox left it.
 *
 * Draining: ACCEPT_NEW_SUBMISSIONS=false, or `synapse-orchestrator drain` (a file in the work directory,
 * so it survives a restart), or SIGUSR2: nothing new starts, what runs finishes. The daemon writes what it
 * is doing to `<work dir>/state/instance.json` at every tick (see instance-state.ts).
 *
 * Status server: unless STATUS_PORT is 0, the daemon listens on it before anything else (so a port taken
 * fails the start at once, and /healthz answers "starting" while the engine is waited for) and releases it
 * last. See src/status/.
 */
import type { Config } from './config/config.js';
import type { TickSummary } from './evaluation/orchestrator.js';
import { Orchestrator } from './evaluation/orchestrator.js';
import type { Services } from './evaluation/services.js';
import { drainRequested, writeInstanceState } from './instance-state.js';
import type { Logger } from './logging/logger.js';
import { createRuntime, type RuntimeOptions } from './runtime.js';
import { TickSchedule } from './tick-schedule.js';
import { Metrics } from './observability/metrics.js';
import { statusUrl } from './status/address.js';
import { DaemonStatus } from './status/daemon-status.js';
import { startStatusServer, type StatusServer } from './status/server.js';

/** How long a stop waits, in all, for the tick and the writes under way (compose waits 10 s). */
export const DEFAULT_STOP_GRACE_MS = 6_000;

export interface DaemonOptions extends RuntimeOptions {
  /** Called after each scheduled tick (the demo and tests watch progress with it). */
  onTick?: (summary: TickSummary) => void;
  /** false: no status server whatever STATUS_PORT says (`run --once`). */
  statusServer?: boolean;
  /** When STATUS_PORT is taken, serve on any free port instead of failing (the interactive demo and `try`). */
  statusServerAnyPort?: boolean;
}

type Release = () => Promise<void> | void;

export class OrchestratorDaemon {
  private readonly releases: { name: string; release: Release }[] = [];
  private schedule: TickSchedule | undefined;
  private drainReason: string | undefined;
  private stopped: Promise<void> | undefined;
  private lastTick: { at: number; summary: TickSummary } | undefined;
  private statusServer: StatusServer | undefined;

  private constructor(
    readonly config: Config,
    readonly services: Services,
    readonly orchestrator: Orchestrator,
    private readonly logger: Logger,
    private readonly options: DaemonOptions,
    /** Health, readiness, metrics and the status report, as the status server shows them. */
    readonly status: DaemonStatus,
  ) {}

  /** Connects to the engine and the platform and opens the outbox; throws with what to fix. */
  static async create(
    config: Config,
    logger: Logger,
    options: DaemonOptions = {},
  ): Promise<OrchestratorDaemon> {
    const serve = config.statusServer.port !== 0 && options.statusServer !== false;
    const metrics = new Metrics({
      queues: config.queues.map((q) => q.evaluationId),
      // Process metrics (memory, CPU, event loop) only where something can read them.
      processMetrics: serve,
    });
    const status = new DaemonStatus(config, metrics);
    // First, so a port already taken fails the start at once, and /healthz answers while the engine is awaited.
    const server = serve
      ? await startStatusServer(
          { ...config.statusServer, anyPortIfTaken: options.statusServerAnyPort === true },
          status,
        )
      : undefined;
    let services: Services;
    try {
      ({ services } = await createRuntime(config, logger, { ...options, metrics }));
    } catch (error) {
      await server?.close();
      throw error;
    }
    const daemon = new OrchestratorDaemon(
      config,
      services,
      new Orchestrator(services),
      logger,
      options,
      status,
    );
    status.attach({
      services,
      view: daemon.orchestrator.view,
      draining: () => daemon.draining,
      stopping: () => daemon.stopped !== undefined,
      lastTickAt: () => daemon.lastTick?.at,
    });
    if (server !== undefined) {
      // Acquired first, so released last: /healthz says "stopping" until the very end.
      daemon.statusServer = server;
      daemon.acquired('status server', () => server.close());
      logger.info('Status server listening', { url: server.url });
    }
    daemon.acquired('log followers', () => {
      daemon.orchestrator.shutdown();
    });
    if (!config.intake.acceptNewSubmissions) daemon.drainReason = 'ACCEPT_NEW_SUBMISSIONS=false';
    return daemon;
  }

  /** The status server's base URL as a local client reaches it, when one runs. */
  get statusUrl(): string | undefined {
    const server = this.statusServer;
    if (server === undefined) return undefined;
    return statusUrl({ port: server.port, bindAddress: this.config.statusServer.bindAddress });
  }

  /** Whether nothing new starts (and why), as of now. */
  get draining(): string | undefined {
    if (this.drainReason !== undefined) return this.drainReason;
    return drainRequested(this.config.workDir) ? 'synapse-orchestrator drain' : undefined;
  }

  /** Starts nothing new from now on; what runs finishes. Reported in the log and in instance.json. */
  drain(reason: string): void {
    if (this.drainReason !== undefined) return;
    this.drainReason = reason;
    this.logger.info('Draining: no new submission starts; running workflows finish', { reason });
  }

  /** One tick: start what capacity allows (unless draining), look after running jobs. */
  async runOnce(): Promise<TickSummary> {
    const draining = this.draining;
    const { loop, counters } = this.status;
    loop.tickStarted();
    const endTimer = counters.tickDuration.startTimer();
    let summary: TickSummary;
    try {
      summary = await this.orchestrator.runOnce({
        startNothing: draining !== undefined || this.stopped !== undefined,
      });
    } catch (error) {
      loop.tickEnded(error);
      throw error;
    } finally {
      endTimer();
    }
    loop.tickEnded();
    this.lastTick = { at: Date.now(), summary };
    if (draining !== undefined && summary.running > 0) {
      this.logger.info('Draining; waiting for running workflows to finish', {
        reason: draining,
        running: summary.running,
      });
    }
    await this.recordState();
    return summary;
  }

  /** Sends messages in the background (tests that drive ticks themselves call this instead of start()). */
  startSending(): void {
    this.services.sender.start();
    this.acquired('message sender', () => this.services.sender.stop(0));
  }

  /** The schedule and the message sender run until stop(). */
  start(): void {
    this.startSending();
    const schedule = new TickSchedule(
      { runOnce: () => this.runOnce() },
      {
        pollIntervalSeconds: this.config.intake.pollIntervalSeconds,
        logger: this.logger,
        ...(this.options.onTick === undefined ? {} : { onTick: this.options.onTick }),
      },
    );
    this.schedule = schedule;
    schedule.start();
    this.acquired('schedule', async () => {
      await schedule.stop(0);
    });
    this.logger.info('Orchestrator started', {
      orchestratorId: this.config.orchestratorId,
      pollIntervalSeconds: this.config.intake.pollIntervalSeconds,
      ...(this.draining === undefined ? {} : { draining: this.draining }),
    });
  }

  /**
   * Waits (up to `timeoutMs`) for updates still under way and for every ready message to go out (needs the
   * sender started): for `run --once`, and for the demo before it reports.
   */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.orchestrator.settle(timeoutMs);
    await this.services.sender.whenIdle(Math.max(0, deadline - Date.now()));
  }

  /**
   * Winds down within `graceMs`: no new claim, the tick in progress and the updates under way get what is
   * left of the grace, then everything is released. Containers keep running. Safe to call twice.
   */
  stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    this.stopped ??= (async () => {
      const deadline = Date.now() + graceMs;
      const left = () => Math.max(0, deadline - Date.now());
      this.status.loop.stopping();
      this.orchestrator.halt();
      const tickEnded = (await this.schedule?.stop(left())) ?? true;
      await this.orchestrator.settle(left());
      await this.services.sender.stop(left());
      await this.services.outbox.flushed();
      await this.recordState(true);
      await this.dispose();
      this.logger.info(
        'Orchestrator stopped; running workflows continue and are picked up at the next start',
        {
          ...(tickEnded ? {} : { note: 'the last tick was cut short; the next start redoes what it left' }),
        },
      );
    })();
    return this.stopped;
  }

  /** Releases what was acquired, last first. */
  async dispose(): Promise<void> {
    while (this.releases.length > 0) {
      const { name, release } = this.releases.pop() ?? { name: '', release: () => undefined };
      try {
        await release();
      } catch (error) {
        this.logger.warn('Could not release a resource cleanly', {
          resource: name,
          error: (error as Error).message,
        });
      }
    }
  }

  /** Workflow containers of this instance, running or not yet removed, and starts under way. */
  private async runningHere(): Promise<number> {
    try {
      const containers = await this.services.engine.list(this.config.orchestratorId);
      return containers.length + this.orchestrator.startsUnderWay;
    } catch {
      return this.lastTick?.summary.running ?? 0;
    }
  }

  private acquired(name: string, release: Release): void {
    this.releases.push({ name, release });
  }

  private async recordState(stopped = false): Promise<void> {
    if (this.stopped !== undefined && !stopped) return; // a late tick must not undo "stopped"
    try {
      await writeInstanceState(this.config.workDir, {
        orchestratorId: this.config.orchestratorId,
        pid: process.pid,
        state: stopped ? 'stopped' : this.draining !== undefined ? 'draining' : 'running',
        ...(this.draining === undefined ? {} : { drainReason: this.draining }),
        runningJobs: await this.runningHere(),
        ...(this.lastTick === undefined ? {} : { lastTickAt: new Date(this.lastTick.at).toISOString() }),
        messages: this.services.outbox.counts(),
        updatedAt: new Date().toISOString(),
      });
    } catch (error) {
      this.logger.debug('Could not write the instance state file', { error: (error as Error).message });
    }
  }
}
