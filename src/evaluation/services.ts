/**
 * The fixed parts every submission's life uses, built once by the runtime (src/runtime.ts) and never
 * changed afterwards. What belongs to one evaluation lives in the job table (job-table.ts) instead.
 */
import type { Config } from '../config/config.js';
import type { WorkflowEngine } from '../engine/interfaces.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Outbox } from '../outbox/outbox.js';
import type { OutboxSender } from '../outbox/sender.js';
import type { SynapseClient } from '../synapse/client.js';
import type { TemplateCache } from '../templates/index.js';
import type { AdminAlerts } from './admin-alerts.js';
import type { OutputFolders } from './folders.js';
import type { JobRoot } from './job-directory.js';
import type { ParticipantNotifier } from './notifications.js';
import type { StageStatuses } from './stages.js';

export interface Services {
  config: Config;
  client: SynapseClient;
  engine: WorkflowEngine;
  templates: TemplateCache;
  folders: OutputFolders;
  alerts: AdminAlerts;
  notifier: ParticipantNotifier;
  /** Every message to send, on disk until sent (src/outbox/). */
  outbox: Outbox;
  sender: OutboxSender;
  jobRoot: JobRoot;
  stage: StageStatuses;
  logger: Logger;
  /** This daemon's metrics (GET /metrics). */
  metrics: Metrics;
  /** The orchestrator's own user name (for the credentials file when SYNAPSE_USERNAME is unset). */
  userName: () => Promise<string>;
  now: () => number;
  /** Grace period of a stop before the engine kills the container (SWO: 60 s). */
  stopGraceSeconds: number;
  /** How often an unchanged running job's WorkflowLastUpdated is refreshed. */
  heartbeatSeconds: number;
  /** How long the engine may not answer before the admin is told (engine-outage.ts). */
  engineOutageAlertMs: number;
}
