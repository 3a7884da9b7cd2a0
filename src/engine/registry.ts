/**
 * The one place a workflow engine is chosen: the configured mode (DOCKER_ENGINE_URL or WES_ENDPOINT) picks
 * the backend's builder. The runtime and the preflight both build their engine here, so they cannot disagree
 * about how a configuration becomes an engine; nothing else names a concrete backend.
 */
import type { Config, DockerEngineSettings, WesEngineSettings } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { DockerEngine } from './docker/engine.js';
import type { ImageObserver, PullRetry } from './docker/pulls.js';
import type { EngineKind, WorkflowEngine } from './interfaces.js';
import { registryAuthResolver, type RegistryAuth } from './docker/registry-auth.js';
import type { WesRetry } from './wes/client.js';
import { WesEngine } from './wes/engine.js';

export interface EngineDependencies {
  logger: Logger;
  /** Told what became of each engine image (Docker mode; the daemon's metrics). */
  imageObserver?: ImageObserver;
  /** Test hook: faster image pull retries. */
  pull?: PullRetry;
  /** Test hook: faster WES retries. */
  wesRetry?: Partial<WesRetry>;
  /** The orchestrator's state directory (<ORCHESTRATOR_WORK_DIR>/state): what an engine keeps across restarts. */
  stateDir?: string;
  /**
   * Registry credentials by image. Default: from the configuration (SYNAPSE_USERNAME and SYNAPSE_PAT for
   * docker.synapse.org, DOCKERHUB_*, DOCKER_CONFIG_FILE).
   */
  registryAuth?: (image: string) => RegistryAuth | undefined;
}

/** The registry credentials the configuration names, by image. */
export function configuredRegistryAuth(config: Config): (image: string) => RegistryAuth | undefined {
  const token = config.synapse.authToken;
  return registryAuthResolver({
    ...(config.synapse.username === undefined ? {} : { synapseUsername: config.synapse.username }),
    ...(token === undefined ? {} : { synapseToken: token }),
    ...(config.registries.dockerHub === undefined ? {} : { dockerHub: config.registries.dockerHub }),
    ...(config.registries.dockerConfigFile === undefined
      ? {}
      : { dockerConfigPath: config.registries.dockerConfigFile, dockerConfigVariable: 'DOCKER_CONFIG_FILE' }),
  });
}

/** Docker mode: the engine container runs WORKFLOW_ENGINE_IMAGE with the configured limits and mounts. */
export function buildDockerEngine(
  config: Config,
  settings: DockerEngineSettings,
  deps: EngineDependencies,
): DockerEngine {
  const { workflow } = config;
  return new DockerEngine({
    url: settings.url,
    certPath: settings.certPath,
    ...(settings.certPathOnHost === undefined ? {} : { certPathOnHost: settings.certPathOnHost }),
    privileged: workflow.privileged,
    rwVolumes: workflow.rwVolumes,
    ...(workflow.memoryBytes === undefined ? {} : { memoryBytes: workflow.memoryBytes }),
    ...(workflow.cpus === undefined ? {} : { nanoCpus: Math.round(workflow.cpus * 1e9) }),
    pullPolicy: workflow.pullPolicy,
    pidsLimit: workflow.pidsLimit,
    ...(deps.pull === undefined ? {} : { pull: deps.pull }),
    registryAuth: deps.registryAuth ?? configuredRegistryAuth(config),
    logger: deps.logger,
    ...(deps.imageObserver === undefined ? {} : { observer: deps.imageObserver }),
    workflow: {
      image: workflow.engineImage,
      runner: workflow.command,
      runnerOptions: workflow.toilCliOptions,
    },
  });
}

/** WES mode: runs go to the WES server; the job directories live in the directory shared with it. */
export function buildWesEngine(
  config: Config,
  settings: WesEngineSettings,
  deps: EngineDependencies,
): WesEngine {
  return new WesEngine({
    endpoint: settings.endpoint,
    orchestratorId: config.orchestratorId,
    logger: deps.logger,
    ...(deps.stateDir === undefined ? {} : { stateDir: deps.stateDir }),
    ...(deps.wesRetry === undefined ? {} : { retry: deps.wesRetry }),
  });
}

const builders: { [K in EngineKind]: (config: Config, deps: EngineDependencies) => WorkflowEngine } = {
  docker: (config, deps) => buildDockerEngine(config, config.engine as DockerEngineSettings, deps),
  wes: (config, deps) => buildWesEngine(config, config.engine as WesEngineSettings, deps),
};

/** The engine of the configured mode. */
export function createEngine(config: Config, deps: EngineDependencies): WorkflowEngine {
  return builders[config.engine.kind](config, deps);
}
