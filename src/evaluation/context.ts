/** Everything one submission's life needs, built once by the daemon and passed down. */
import type { Config } from '../config/config.js';
import type { WorkflowEngine } from '../engine/interfaces.js';
import type { Logger } from '../logging/logger.js';
import type { SynapseClient } from '../synapse/client.js';
import type { TemplateCache } from '../templates/index.js';
import type { AdminAlerts } from './admin-alerts.js';
import type { OutputFolders } from './folders.js';
import type { JobRoot } from './job-directory.js';
import type { FollowedJob } from './job-logs.js';
import type { ParticipantNotifier } from './notifications.js';
import type { StageStatuses } from './stages.js';
import type { InFlightStartedMessage } from './started-message.js';

export interface RunContext {
  config: Config;
  client: SynapseClient;
  engine: WorkflowEngine;
  templates: TemplateCache;
  folders: OutputFolders;
  alerts: AdminAlerts;
  notifier: ParticipantNotifier;
  /** Log followers of running jobs, by job name. */
  followers: Map<string, FollowedJob>;
  /** Jobs this process started (others were adopted after a restart: their messages may already be out). */
  startedHere: Set<string>;
  /** "started" messages on their way, by job name (see started-message.ts). */
  startedMessages: Map<string, InFlightStartedMessage>;
  /** Submissions whose final message this process sent (a retried final write does not send it again). */
  finalMessageSent: Set<string>;
  /** When a job's periodic log upload last failed, so it is retried at the next interval, not every tick. */
  uploadFailedAt: Map<string, number>;
  jobRoot: JobRoot;
  stage: StageStatuses;
  logger: Logger;
  /** The orchestrator's own user name (for the credentials file when SYNAPSE_USERNAME is unset). */
  userName: () => Promise<string>;
  now: () => number;
  /** Grace period of a stop before the engine kills the container (SWO: 60 s). */
  stopGraceSeconds: number;
  /** How often an unchanged running job's WorkflowLastUpdated is refreshed. */
  heartbeatSeconds: number;
}
