/**
 * Builds the fixed parts (Services) from a configuration: the Synapse client, the engine, the template
 * cache, the folders, the outbox and its sender, the admin alerts, the job root. The daemon (daemon.ts)
 * owns them and the orchestrator that uses them.
 */
import { join } from 'node:path';
import type { Config } from './config/config.js';
import type { WorkflowEngine } from './engine/interfaces.js';
import { createEngine, type EngineDependencies } from './engine/registry.js';
import { AdminAlerts } from './evaluation/admin-alerts.js';
import { ANNOTATIONS, readNumber } from './evaluation/annotations.js';
import { OUTAGE_ALERT_AFTER_MS } from './evaluation/engine-outage.js';
import { OutputFolders } from './evaluation/folders.js';
import { ParticipantNotifier } from './evaluation/notifications.js';
import { resolveJobRoot } from './evaluation/job-directory.js';
import type { Services } from './evaluation/services.js';
import { stageStatuses } from './evaluation/stages.js';
import { isRunningHere, jobOf } from './evaluation/transitions.js';
import { Outbox } from './outbox/outbox.js';
import { OutboxSender } from './outbox/sender.js';
import type { Logger } from './logging/logger.js';
import { Metrics } from './observability/metrics.js';
import { SynapseClient, type SynapseClientOptions } from './synapse/client.js';
import type { UserProfile } from './synapse/types.js';
import { TemplateCache } from './templates/index.js';

export interface RuntimeOptions {
  /** Test hooks: faster retries, shorter stop grace, a fake clock. */
  synapse?: Partial<Pick<SynapseClientOptions, 'retry' | 'messages'>>;
  stopGraceSeconds?: number;
  heartbeatSeconds?: number;
  pull?: { attempts: number; firstDelayMs: number; maxDelayMs: number };
  /** Faster WES retries (WES mode). */
  wesRetry?: EngineDependencies['wesRetry'];
  now?: () => number;
  /** How long the engine may not answer before the admin is told (default 5 minutes). */
  engineOutageAlertMs?: number;
  /** How long to wait for an engine that does not answer at start (default 60 s). */
  engineWaitMs?: number;
  /** The daemon's metrics (default: a registry of its own, without process metrics). */
  metrics?: Metrics;
  /** Test hook: this engine instead of the one the configured mode builds (createEngine). */
  engine?: WorkflowEngine;
}

/** How long a start waits for an engine that does not answer yet (restarting, still booting). */
const ENGINE_WAIT_MS = 60_000;

/**
 * Resolves once the engine answers. An engine restarting as the orchestrator starts (a host reboot, an
 * engine upgrade) is waited for, saying so, rather than ending the process at once; one still silent after
 * `waitMs` is an error naming the engine.
 */
async function waitForEngine(engine: WorkflowEngine, logger: Logger, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await engine.ping();
      if (attempt > 1) logger.info(`${capitalized(engine.description)} answers now`);
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      if (attempt === 1) {
        logger.warn(`${capitalized(engine.description)} does not answer yet; waiting for it`, {
          error: (error as Error).message,
          waitSeconds: Math.round(waitMs / 1000),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export interface Runtime {
  services: Services;
  engine: WorkflowEngine;
}

export async function createRuntime(
  config: Config,
  logger: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const token = config.synapse.authToken;
  if (token === undefined) throw new Error('SYNAPSE_PAT is not set.');
  // A registry per daemon: several daemons in one process (tests) keep their counts apart.
  const metrics =
    options.metrics ??
    new Metrics({ queues: config.queues.map((q) => q.evaluationId), processMetrics: false });
  const client = new SynapseClient({
    observer: metrics.platformObserver(),
    endpoint: config.synapse.endpoint,
    token,
    logger,
    ...(options.synapse?.retry === undefined ? {} : { retry: options.synapse.retry }),
    messages: { limit: config.notifications.messagesPerMinute, ...options.synapse?.messages },
  });
  const engine =
    options.engine ??
    createEngine(config, {
      logger,
      imageObserver: metrics.imageObserver(),
      ...(options.pull === undefined ? {} : { pull: options.pull }),
      ...(options.wesRetry === undefined ? {} : { wesRetry: options.wesRetry }),
      stateDir: join(config.workDir, 'state'),
    });
  await waitForEngine(engine, logger, options.engineWaitMs ?? ENGINE_WAIT_MS);

  let me: Promise<UserProfile> | undefined;
  const profile = () => {
    if (me === undefined) {
      me = client.profiles.me();
      me.catch(() => (me = undefined)); // a failed lookup is tried again next time
    }
    return me;
  };
  const ownPrincipalId = async () => (await profile()).ownerId;
  const outbox = await Outbox.open(join(config.workDir, 'state', 'outbox'));
  const stage = stageStatuses(config.intake.executionStage);
  const ctx: Services = {
    config,
    client,
    engine,
    templates: new TemplateCache({
      client,
      cacheDir: join(config.workDir, 'templates'),
      limits: config.templates,
      logger,
    }),
    folders: new OutputFolders(client, {
      rootId: config.outputRootEntityId,
      ownPrincipalId,
      dataUnlockPrincipalId: config.results.dataUnlockPrincipalId,
    }),
    alerts: new AdminAlerts(
      outbox,
      async () => config.notifications.principalId ?? (await ownPrincipalId()),
      logger,
      join(config.workDir, 'state', 'admin-alerts.json'),
    ),
    notifier: new ParticipantNotifier(client, config, outbox, logger),
    outbox,
    sender: new OutboxSender({
      outbox,
      messages: client.messages,
      statusOf: (id) => client.evaluations.getStatus(id),
      jobOf,
      isRunning: (status) => status.status === stage.running && isRunningHere(ctx, status, undefined),
      writtenAtOf: (status) => readNumber(status, ANNOTATIONS.workflowLastUpdated),
      logger,
      retry: client.http.policy,
      observer: metrics.messageObserver(),
      ...(options.now === undefined ? {} : { now: options.now }),
    }),
    jobRoot: await resolveJobRoot(
      config,
      (name) => engine.volumeMountpoint?.(name) ?? Promise.resolve(undefined),
    ),
    stage,
    logger,
    metrics,
    userName: async () => (await profile()).userName,
    now: options.now ?? Date.now,
    stopGraceSeconds: options.stopGraceSeconds ?? 60,
    heartbeatSeconds: options.heartbeatSeconds ?? 300,
    engineOutageAlertMs: options.engineOutageAlertMs ?? OUTAGE_ALERT_AFTER_MS,
  };
  logger.info('Job directories', {
    local: ctx.jobRoot.local,
    host: ctx.jobRoot.host,
    found: ctx.jobRoot.source,
  });
  return { services: ctx, engine };
}
