/**
 * `validate`'s checks against the configured platform and engine: would the orchestrator work? Builds the
 * same parts as runtime.ts (a Synapse client, a Docker engine, a template cache, the job root) with short
 * time bounds, runs the checks (independent ones at the same time) and returns one result per check, in a
 * fixed order. Nothing on Synapse is created or changed; nothing is pulled; what is made locally (a
 * template cache, a probe directory, a probe container) is removed before returning.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import type { Config } from '../config/config.js';
import type { LoadedConfig } from '../config/load.js';
import type { DockerEngine } from '../engine/docker/engine.js';
import { buildDockerEngine, buildWesEngine, configuredRegistryAuth } from '../engine/registry.js';
import { resolveJobRoot, type JobRoot } from '../evaluation/job-directory.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { SynapseClient } from '../synapse/client.js';
import type { RetryPolicy } from '../synapse/retry.js';
import { TemplateCache } from '../templates/index.js';
import {
  COMMAND_CHECK,
  ENGINE_CHECK,
  IMAGE_CHECK,
  JOB_DIR_CHECK,
  checkEngine,
  checkImage,
  checkJobDirectory,
  type Timeouts,
} from './engine-checks.js';
import { notChecked, ok, problem, warning, type CheckResult } from './report.js';
import {
  ACCOUNT_CHECK,
  checkAccount,
  checkOutputRoot,
  checkPrincipal,
  checkQueue,
  needsAccount,
  type Account,
} from './synapse-checks.js';
import { checkTemplate, templateCheckName } from './template-checks.js';
import { checkSharedDirectory, checkWesServer, SHARED_DIR_CHECK, WES_SERVER_CHECK } from './wes-checks.js';

/**
 * Synapse calls give up within about 20 s, so a dead platform cannot hang `validate`: a few quick
 * attempts, each at most 10 s.
 */
export const PREFLIGHT_RETRY: Partial<RetryPolicy> = {
  maxAttempts: 4,
  initialDelayMs: 500,
  rateLimitInitialDelayMs: 2_000,
  maxDelayMs: 4_000,
  totalTimeMs: 20_000,
  requestTimeoutMs: 10_000,
};

export interface PreflightTimeouts extends Timeouts {
  /** One Synapse check (the account, a queue, the output root). */
  synapseMs: number;
  /** One template: resolve, download, unpack, inspect. */
  templateMs: number;
  /** The image check (inspect, then the registry). */
  imageMs: number;
}

export const DEFAULT_TIMEOUTS: PreflightTimeouts = {
  synapseMs: 45_000,
  templateMs: 120_000,
  imageMs: 40_000,
  registryMs: 30_000,
  probeMs: 20_000,
};

export interface PreflightOptions {
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<PreflightTimeouts>;
  /** Where the scratch template cache goes (default: the system's temporary directory). */
  scratchDir?: string;
  /** For diagnostics (default: silent unless LOG_LEVEL=debug, then stderr). */
  logger?: Logger;
}

type Bounded = (name: string, ms: number, check: () => Promise<CheckResult>) => Promise<CheckResult>;

/**
 * Runs `check`, or gives a problem named `name` when it takes longer than `ms` (the check goes on in the
 * background; `onLate` is told).
 */
async function bounded(
  name: string,
  ms: number,
  check: () => Promise<CheckResult>,
  onLate: () => void,
): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => {
      onLate();
      resolve(
        problem(
          name,
          `no result within ${Math.round(ms / 1000)} s`,
          'Check that Synapse and the Docker engine answer quickly from this machine, then run validate again.',
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([
      check().catch((error: unknown) =>
        problem(name, `the check failed: ${(error as Error).message}`, 'Run validate again.'),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function configCheck(loaded: LoadedConfig): CheckResult {
  const origin = loaded.envFile === undefined ? 'environment' : `environment and ${loaded.envFile}`;
  if (loaded.warnings.length === 0) return ok('Configuration', `valid (${origin})`);
  return warning(
    'Configuration',
    `valid (${origin}), with ${loaded.warnings.length === 1 ? 'a warning' : `${loaded.warnings.length} warnings`}: ${loaded.warnings.map((w) => `${w.variable} ${w.message}`).join(' ')}`,
  );
}

function quietLogger(config: Config): Logger {
  if (config.logging.level === 'debug')
    return createLogger({ level: 'debug', format: config.logging.format });
  return winston.createLogger({ silent: true });
}

/** Queue ids by template entity, in the configuration's order. */
function queuesByTemplate(config: Config): Map<string, string[]> {
  const byTemplate = new Map<string, string[]>();
  for (const queue of config.queues) {
    byTemplate.set(queue.templateEntityId, [
      ...(byTemplate.get(queue.templateEntityId) ?? []),
      queue.evaluationId,
    ]);
  }
  return byTemplate;
}

async function synapseChecks(
  config: Config,
  tokenVariable: string,
  client: SynapseClient,
  cache: TemplateCache,
  timeouts: PreflightTimeouts,
  bound: Bounded,
): Promise<CheckResult[]> {
  const token = config.synapse.authToken ?? '';
  const byTemplate = queuesByTemplate(config);
  const principals: [string, string, string][] = [];
  if (config.notifications.principalId !== undefined) {
    principals.push([
      'NOTIFICATION_PRINCIPAL_ID',
      config.notifications.principalId,
      'hears about pipeline problems',
    ]);
  }
  if (config.results.dataUnlockPrincipalId !== undefined) {
    principals.push([
      'DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID',
      config.results.dataUnlockPrincipalId,
      "may release locked results (it gets access to each submitter's _LOCKED folder)",
    ]);
  }
  const names = [
    ...config.queues.map((q) => `Queue ${q.evaluationId}`),
    `Output folder ${config.outputRootEntityId}`,
    ...principals.map(([variable]) => variable),
    ...[...byTemplate].map(([entityId, queues]) => templateCheckName(entityId, queues)),
  ];

  let account: Account | undefined;
  const accountResult = await bound(ACCOUNT_CHECK, timeouts.synapseMs, async () => {
    const checked = await checkAccount(
      client,
      config.synapse.endpoint,
      token,
      tokenVariable,
      config.synapse.username,
    );
    account = checked.account;
    return checked.result;
  });
  const me = account;
  if (me === undefined) return [accountResult, ...names.map(needsAccount)];

  const rest = await Promise.all([
    ...config.queues.map((q) =>
      bound(`Queue ${q.evaluationId}`, timeouts.synapseMs, () => checkQueue(client, q.evaluationId, me)),
    ),
    bound(`Output folder ${config.outputRootEntityId}`, timeouts.synapseMs, () =>
      checkOutputRoot(client, config.outputRootEntityId, me),
    ),
    ...principals.map(([variable, id, role]) =>
      bound(variable, timeouts.synapseMs, () => checkPrincipal(client, variable, id, role)),
    ),
    ...[...byTemplate].map(([entityId, queues]) =>
      bound(templateCheckName(entityId, queues), timeouts.templateMs, () =>
        checkTemplate(cache, entityId, queues, me),
      ),
    ),
  ]);
  return [accountResult, ...rest];
}

async function engineChecks(
  config: Config,
  logger: Logger,
  timeouts: PreflightTimeouts,
  bound: Bounded,
): Promise<CheckResult[]> {
  const settings = config.engine;
  if (settings.kind === 'wes') {
    const wes = buildWesEngine(config, settings, { logger, wesRetry: { maxAttempts: 1 } });
    return [
      await bound(WES_SERVER_CHECK, timeouts.probeMs, () => checkWesServer(wes, settings)),
      // The engine image and command are the WES server's business: no check of them here.
      await bound(SHARED_DIR_CHECK, timeouts.probeMs, () => checkSharedDirectory(settings)),
    ];
  }
  let engine: DockerEngine;
  try {
    // Not used here: the image check reads the credentials itself, so a bad config file is its problem.
    engine = buildDockerEngine(config, settings, { logger, registryAuth: () => undefined });
  } catch (error) {
    return [
      problem(
        ENGINE_CHECK,
        (error as Error).message,
        'Fix DOCKER_ENGINE_URL (unix:///var/run/docker.sock or tcp://host:2376) or the certificates in DOCKER_CERT_PATH.',
      ),
      notChecked(IMAGE_CHECK, `needs the Docker engine (see ${ENGINE_CHECK})`),
      notChecked(JOB_DIR_CHECK, `needs the Docker engine (see ${ENGINE_CHECK})`),
      notChecked(COMMAND_CHECK, `needs the Docker engine (see ${ENGINE_CHECK})`),
    ];
  }
  const resolveRoot = (): Promise<JobRoot> => resolveJobRoot(config, (name) => engine.volumeMountpoint(name));
  const engineResult = await bound(ENGINE_CHECK, timeouts.probeMs, () => checkEngine(engine, settings));
  if (engineResult.status !== 'ok') {
    const jobDir = await checkJobDirectory(config, resolveRoot, undefined, timeouts);
    return [
      engineResult,
      notChecked(IMAGE_CHECK, `needs the Docker engine (see ${ENGINE_CHECK})`),
      jobDir.jobDirectory,
      jobDir.engineCommand,
    ];
  }
  const state: { image: 'present' | 'pullable' | 'unusable' } = { image: 'unusable' };
  const imageResult = await bound(IMAGE_CHECK, timeouts.imageMs, async () => {
    const checked = await checkImage(
      engine.docker,
      config,
      () => configuredRegistryAuth(config)(config.workflow.engineImage),
      timeouts,
    );
    state.image = checked.present ? 'present' : checked.result.status === 'ok' ? 'pullable' : 'unusable';
    return checked.result;
  });
  const jobDir = await checkJobDirectory(
    config,
    resolveRoot,
    { docker: engine.docker, image: state.image },
    timeouts,
  );
  return [engineResult, imageResult, jobDir.jobDirectory, jobDir.engineCommand];
}

/** Every check, in a fixed order: configuration, Synapse (account, queues, output, principals, templates), Docker. */
export async function runPreflight(
  loaded: LoadedConfig,
  options: PreflightOptions = {},
): Promise<CheckResult[]> {
  const { config } = loaded;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const logger = options.logger ?? quietLogger(config);
  const tokenVariable = loaded.raw.SYNAPSE_PAT === undefined ? 'SYNAPSE_PASSWORD' : 'SYNAPSE_PAT';
  const client = new SynapseClient({
    endpoint: config.synapse.endpoint,
    token: config.synapse.authToken ?? '',
    retry: options.retry ?? PREFLIGHT_RETRY,
    logger,
  });
  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), 'synapse-orchestrator-validate-'));
  // A check that ran late goes on in the background and may still write into the scratch directory:
  // then it is removed once more when the process exits.
  const removeAtExit = () => {
    rmSync(scratch, { recursive: true, force: true });
  };
  let late = false;
  const bound: Bounded = (name, ms, check) =>
    bounded(name, ms, check, () => {
      if (!late) process.once('exit', removeAtExit);
      late = true;
    });
  try {
    const cache = new TemplateCache({ client, cacheDir: scratch, limits: config.templates, logger });
    const [synapse, docker] = await Promise.all([
      synapseChecks(config, tokenVariable, client, cache, timeouts, bound),
      engineChecks(config, logger, timeouts, bound),
    ]);
    return [configCheck(loaded), ...synapse, ...docker];
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
