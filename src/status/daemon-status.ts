/**
 * What the status server asks of one daemon, answered from what the daemon holds: its loop's health,
 * readiness (platform and engine), the metrics, and the status report. It exists before the daemon's
 * runtime does (the server listens first, so a taken port fails the start at once and /healthz answers
 * "starting" while the engine is waited for); `attach` hands it the running parts once they are there.
 */
import { createRequire } from 'node:module';
import type { Config } from '../config/config.js';
import type { Services } from '../evaluation/services.js';
import type { WorkView } from '../evaluation/work-view.js';
import type { Metrics } from '../observability/metrics.js';
import { assessLoopHealth, LoopActivity, loopHealthLimits, type LoopHealth } from './loop-health.js';
import { ReadinessProbe, type Readiness } from './readiness.js';
import { buildStatusReport, type StatusReport } from './report.js';
import type { StatusSource } from './server.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The running parts of a daemon, once it has them. */
export interface DaemonParts {
  services: Services;
  view: WorkView;
  /** Why nothing new starts, if it does not. */
  draining(): string | undefined;
  stopping(): boolean;
  lastTickAt(): number | undefined;
}

export class DaemonStatus implements StatusSource {
  readonly loop = new LoopActivity();
  private parts: DaemonParts | undefined;
  private probe: ReadinessProbe | undefined;

  constructor(
    private readonly config: Config,
    readonly counters: Metrics,
  ) {}

  attach(parts: DaemonParts): void {
    const { config } = this;
    const { services } = parts;
    this.parts = parts;
    this.probe = new ReadinessProbe([
      {
        name: 'platform',
        target: config.synapse.endpoint.repoUrl,
        // One authenticated call, not retried: the platform answers and takes the token.
        check: () =>
          services.client.http.request({ api: 'repo', method: 'GET', path: '/userProfile', retry: false }),
      },
      {
        name: 'engine',
        target: config.engine.kind === 'docker' ? config.engine.url : config.engine.endpoint,
        check: () => services.engine.ping(),
      },
    ]);
    this.counters.readFrom({
      runningByQueue: () => parts.view.runningByQueue(),
      waitingByQueue: () => parts.view.waitingByQueue(),
      outbox: () => services.outbox.counts(),
      draining: () => parts.draining() !== undefined || parts.stopping(),
    });
  }

  health(): LoopHealth & { orchestratorId: string; draining?: string } {
    const draining = this.parts?.draining();
    return {
      ...assessLoopHealth(
        this.loop.snapshot(),
        loopHealthLimits(this.config.intake.pollIntervalSeconds),
        Date.now(),
      ),
      orchestratorId: this.config.orchestratorId,
      ...(draining === undefined ? {} : { draining }),
    };
  }

  readiness(): Promise<Readiness> {
    if (this.probe === undefined) {
      return Promise.resolve({
        ready: false,
        reason: 'starting: connecting to the engine and the platform',
        checks: [],
        checkedAt: new Date().toISOString(),
      });
    }
    return this.probe.check();
  }

  status(): StatusReport {
    const parts = this.parts;
    return buildStatusReport({
      orchestratorId: this.config.orchestratorId,
      version,
      now: Date.now(),
      health: this.health(),
      draining: parts?.draining(),
      stopping: parts?.stopping() ?? false,
      maxConcurrent: this.config.workflow.maxConcurrent,
      lastTickAt: parts?.lastTickAt(),
      running: parts?.view.running() ?? [],
      queues: parts?.view.queues() ?? this.config.queues.map((q) => ({ evaluationId: q.evaluationId })),
      outbox: parts?.services.outbox.counts() ?? {},
    });
  }

  metrics(): Promise<{ contentType: string; body: string }> {
    return this.counters.exposition();
  }
}
