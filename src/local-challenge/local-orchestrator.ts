/**
 * Runs the production orchestrator (the same runtime and schedule as `run`) against a local platform:
 * the organizer's configuration (environment and env file) with the platform-specific variables replaced
 * by the local platform's. Product logs go to a file, so the terminal stays free for the live board.
 */
import { createWriteStream } from 'node:fs';
import { loadConfig } from '../config/index.js';
import type { Config } from '../config/config.js';
import type { VariableName } from '../config/variables.js';
import { OrchestratorDaemon } from '../daemon.js';
import { createLogger } from '../logging/logger.js';

export interface LocalOrchestratorOptions {
  platformUrl: string;
  /** The orchestrator account's token on the local platform. */
  token: string;
  /** evaluation id → template entity id */
  queues: Record<string, string>;
  outputRootId: string;
  workDir: string;
  orchestratorId: string;
  logFile: string;
  /** The organizer's settings: an env file (and the process environment unless `env` is given). */
  envFile?: string;
  envFileMustExist?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** More values this command sets itself. */
  overrides?: Partial<Record<VariableName, string | null>>;
}

export interface LocalOrchestrator {
  config: Config;
  daemon: OrchestratorDaemon;
  /**
   * Lets messages still in the outbox go (up to a minute), stops the daemon (running workflows continue,
   * as with `run`) and closes the log file.
   */
  stop(): Promise<void>;
}

/** Variables that name things on the real Synapse or the real host, which the local platform replaces. */
const PLATFORM_SPECIFIC: Partial<Record<VariableName, null>> = {
  SYNAPSE_USERNAME: null,
  SYNAPSE_PASSWORD: null,
  NOTIFICATION_PRINCIPAL_ID: null,
  DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID: null,
  ORCHESTRATOR_WORK_DIR_ON_HOST: null,
  COMPOSE_PROJECT_NAME: null,
};

/** Loads the configuration for the local platform; a ConfigError names what to fix in the organizer's settings. */
export function localConfig(options: Omit<LocalOrchestratorOptions, 'logFile'>): Config {
  return loadConfig({
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
    envFileMustExist: options.envFileMustExist ?? false,
    overrides: {
      ...PLATFORM_SPECIFIC,
      SYNAPSE_ENDPOINT: options.platformUrl,
      SYNAPSE_PAT: options.token,
      EVALUATION_TEMPLATES: JSON.stringify(options.queues),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: options.outputRootId,
      ORCHESTRATOR_WORK_DIR: options.workDir,
      ORCHESTRATOR_ID: options.orchestratorId,
      ...options.overrides,
    },
  }).config;
}

export async function startLocalOrchestrator(options: LocalOrchestratorOptions): Promise<LocalOrchestrator> {
  const config = localConfig(options);
  const logStream = createWriteStream(options.logFile, { flags: 'a' });
  const logger = createLogger({ level: config.logging.level, format: 'json', stream: logStream });
  // Interactive: a status port already taken (a daemon on this machine) is no reason to fail; any free one does.
  const daemon = await OrchestratorDaemon.create(config, logger, { statusServerAnyPort: true });
  daemon.start();
  let stopped: Promise<void> | undefined;
  return {
    config,
    daemon,
    stop() {
      stopped ??= (async () => {
        await daemon.settle(60_000);
        await daemon.stop();
        await new Promise<void>((resolve) => logStream.end(resolve));
      })();
      return stopped;
    },
  };
}
