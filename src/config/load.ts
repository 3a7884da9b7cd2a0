/**
 * Loads the configuration: real environment variables first, then the env file, then defaults.
 *
 * As in SWO, a variable that is empty or the literal `null` counts as unset (Docker Compose passes unset
 * variables through as empty strings), so the next source is consulted. Every problem is collected and
 * reported at once in a `ConfigError`; nothing is half-loaded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { Config, SynapseEndpoint } from './config.js';
import { ConfigError, type ConfigProblem, type ConfigWarning } from './config-error.js';
import { displayValue } from './display.js';
import { registerSecret } from '../logging/redact.js';
import { defaultOrchestratorId, readHostIdentity } from './host-identity.js';
import {
  DEFAULT_ENGINE_IMAGE,
  KNOWN_FOREIGN_VARIABLES,
  SECRET_VARIABLES,
  VARIABLE_NAMES,
  VARIABLES,
  configSchema,
  type ParsedVariables,
  type VariableName,
} from './variables.js';

export type ValueSource = 'environment' | 'env file' | 'default' | 'command';

export interface LoadOptions {
  /** The process environment (default: `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Path of the env file to read (default: `.env` in the working directory, if present). */
  envFile?: string;
  /** True when the operator named the file (`--env-file`): then a missing file is an error. */
  envFileMustExist?: boolean;
  /**
   * Values a command sets itself, whatever the environment and the file say (`try` and `demo` point the
   * orchestrator at their own local platform); null unsets a variable.
   */
  overrides?: Partial<Record<VariableName, string | null>>;
  /** Overrides the host identity behind the default ORCHESTRATOR_ID (tests). */
  hostIdentity?: (workDir: string) => string;
  /** Overrides the directory probe behind the default work directory (tests). */
  isDirectory?: (path: string) => boolean;
}

export interface LoadedConfig {
  config: Config;
  warnings: ConfigWarning[];
  /** Where each variable's value came from. */
  sources: Record<VariableName, ValueSource>;
  /** Each variable's text as found, before parsing (secrets included: never print these directly). */
  raw: Partial<Record<VariableName, string>>;
  /** The env file that was read, if any. */
  envFile: string | undefined;
}

/** The value, or undefined when it is unset in SWO's sense: absent, blank, or the literal `null`. */
export function present(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' || trimmed === 'null' ? undefined : trimmed;
}

function readEnvFile(
  path: string,
  exists: boolean,
  mustExist: boolean,
): { values: Record<string, string> } | { problem: ConfigProblem } {
  if (!exists) {
    return mustExist
      ? { problem: { variable: '--env-file', value: JSON.stringify(path), message: 'no such file' } }
      : { values: {} };
  }
  try {
    return { values: parseDotenv(readFileSync(path)) };
  } catch (error) {
    const message = `cannot be read: ${(error as Error).message}`;
    return { problem: { variable: '--env-file', value: JSON.stringify(path), message } };
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Some variables read from the environment, the env file and a command's overrides, each parsed. */
export interface VariableReading<N extends VariableName> {
  raw: Partial<Record<N, string>>;
  sources: Record<N, ValueSource>;
  parsed: Partial<Pick<ParsedVariables, N>>;
  /** Values that did not parse, each naming its variable. */
  problems: ConfigProblem[];
  /** Where the values came from, for error messages ("environment and /path/.env"). */
  origin: string;
  /** The env file that was read, if any, and the names in it. */
  envFile: string | undefined;
  fileNames: string[];
}

/**
 * Reads `names` (env > env file > default, overrides on top), registers secrets with the redactor and
 * parses each value. A missing named env file or an unreadable one throws a ConfigError; bad values are
 * returned as problems, so a caller can add its own rules before reporting them all.
 */
export function readVariables<N extends VariableName>(
  names: readonly N[],
  options: LoadOptions = {},
): VariableReading<N> {
  const env = options.env ?? process.env;
  const envFilePath = resolve(options.envFile ?? '.env');
  const envFileExists = existsSync(envFilePath);
  const origin = envFileExists ? `environment and ${envFilePath}` : 'environment';
  const envFile = readEnvFile(envFilePath, envFileExists, options.envFileMustExist ?? false);
  if ('problem' in envFile) throw new ConfigError([envFile.problem], origin);
  const file = envFile.values;

  const raw: Partial<Record<N, string>> = {};
  const sources = {} as Record<N, ValueSource>;
  for (const name of names) {
    const fromEnv = present(env[name]);
    const fromFile = present(file[name]);
    raw[name] = fromEnv ?? fromFile;
    sources[name] = fromEnv !== undefined ? 'environment' : fromFile !== undefined ? 'env file' : 'default';
    const override: string | null | undefined = options.overrides?.[name];
    if (override !== undefined) {
      raw[name] = override === null ? undefined : (present(override) ?? undefined);
      sources[name] = override === null ? 'default' : 'command';
    }
  }

  for (const name of SECRET_VARIABLES)
    if ((names as readonly string[]).includes(name)) registerSecret(raw[name as N]);

  const problems: ConfigProblem[] = [];
  const parsed: Partial<Pick<ParsedVariables, N>> = {};
  for (const name of names) {
    const result = configSchema.shape[name].safeParse(raw[name]);
    if (result.success) {
      (parsed as Record<string, unknown>)[name] = result.data;
      continue;
    }
    const value = raw[name];
    for (const issue of result.error.issues) {
      problems.push({
        variable: name,
        ...(value === undefined ? {} : { value: displayValue(name, value) }),
        message: issue.message,
      });
    }
  }
  return {
    raw,
    sources,
    parsed,
    problems,
    origin,
    envFile: envFileExists ? envFilePath : undefined,
    fileNames: Object.keys(file),
  };
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const reading = readVariables(VARIABLE_NAMES, options);
  const { raw, sources, problems, origin } = reading;
  const parsed = reading.parsed as Partial<ParsedVariables>;
  const warnings: ConfigWarning[] = warnAboutUnknownNames(reading.fileNames);

  checkAcrossVariables(parsed, raw, problems, warnings);
  if (problems.length > 0) throw new ConfigError(problems, origin);

  const config = assemble(parsed as ParsedVariables, {
    hostIdentity: options.hostIdentity ?? readHostIdentity,
    isDirectory: options.isDirectory ?? isDirectory,
  });
  return { config, warnings, sources, raw, envFile: reading.envFile };
}

/** Docker Hub credentials come in pairs: one without the other is a mistake. */
export function checkDockerHubPair(
  raw: Partial<Record<'DOCKERHUB_USERNAME' | 'DOCKERHUB_PASSWORD', string>>,
  problems: ConfigProblem[],
): void {
  if ((raw.DOCKERHUB_USERNAME === undefined) === (raw.DOCKERHUB_PASSWORD === undefined)) return;
  const [set, unset] =
    raw.DOCKERHUB_USERNAME === undefined
      ? ['DOCKERHUB_PASSWORD', 'DOCKERHUB_USERNAME']
      : ['DOCKERHUB_USERNAME', 'DOCKERHUB_PASSWORD'];
  problems.push({ variable: unset, message: `not set, but ${set} is: Docker Hub credentials need both` });
}

/** Rules that involve more than one variable. Each is skipped when its inputs already failed to parse. */
function checkAcrossVariables(
  parsed: Partial<ParsedVariables>,
  raw: Partial<Record<VariableName, string>>,
  problems: ConfigProblem[],
  warnings: ConfigWarning[],
): void {
  const failed = new Set(problems.map((p) => p.variable));

  // The token. SYNAPSE_PASSWORD is the name in Sage's older docs; it was always the token in practice.
  if (raw.SYNAPSE_PAT === undefined && raw.SYNAPSE_PASSWORD !== undefined) {
    warnings.push({
      variable: 'SYNAPSE_PASSWORD',
      message: 'is deprecated: it is used as the personal access token; rename it to SYNAPSE_PAT.',
    });
  } else if (raw.SYNAPSE_PAT !== undefined && raw.SYNAPSE_PASSWORD !== undefined) {
    warnings.push({
      variable: 'SYNAPSE_PASSWORD',
      message: 'is ignored because SYNAPSE_PAT is set; remove it.',
    });
  }
  if (
    raw.SYNAPSE_PAT === undefined &&
    raw.SYNAPSE_PASSWORD === undefined &&
    !failed.has('SYNAPSE_ENDPOINT')
  ) {
    const endpoint = parsed.SYNAPSE_ENDPOINT ?? '';
    problems.push({
      variable: 'SYNAPSE_PAT',
      message: `not set: a personal access token is required to use ${
        isSynapseOrgHost(endpoint) ? 'Synapse' : 'the Synapse-compatible server'
      } at ${endpoint} (create one under Account Settings > Personal Access Tokens, with view, download and modify scopes)`,
    });
  }

  for (const name of ['EVALUATION_TEMPLATES', 'WORKFLOW_OUTPUT_ROOT_ENTITY_ID'] as const) {
    if (raw[name] === undefined && !failed.has(name)) {
      problems.push({ variable: name, message: `not set: ${VARIABLES[name].summary}` });
    }
  }

  // Docker mode or WES mode, exactly one.
  const docker = raw.DOCKER_ENGINE_URL !== undefined;
  const wes = raw.WES_ENDPOINT !== undefined;
  if (docker && wes) {
    problems.push({
      variable: 'DOCKER_ENGINE_URL / WES_ENDPOINT',
      message:
        'both are set: choose Docker mode (keep DOCKER_ENGINE_URL) or WES mode (keep WES_ENDPOINT) and unset the other',
    });
  } else if (!docker && !wes) {
    problems.push({
      variable: 'DOCKER_ENGINE_URL / WES_ENDPOINT',
      message:
        'neither is set: set DOCKER_ENGINE_URL (e.g. unix:///var/run/docker.sock) to run workflows with Docker, or WES_ENDPOINT to send them to a WES server',
    });
  } else if (wes && raw.WES_SHARED_DIR_PROPERTY === undefined && !failed.has('WES_SHARED_DIR_PROPERTY')) {
    problems.push({
      variable: 'WES_SHARED_DIR_PROPERTY',
      message:
        'not set: WES mode needs a directory shared with the WES server at the same path on both sides',
    });
  }
  if (wes && !docker) {
    const dockerOnly = (
      [
        'RW_VOLUMES',
        'RUN_WORKFLOW_CONTAINER_IN_PRIVILEGED_MODE',
        'DOCKER_CERT_PATH_HOST',
        'WORKFLOW_ENGINE_DOCKER_IMAGE',
        'WORKFLOW_ENGINE_COMMAND',
        'TOIL_CLI_OPTIONS',
        'WORKFLOW_MEMORY_LIMIT',
        'WORKFLOW_CPU_LIMIT',
        'WORKFLOW_PIDS_LIMIT',
        'IMAGE_PULL_POLICY',
      ] as const
    ).filter((name) => raw[name] !== undefined);
    for (const name of dockerOnly) {
      warnings.push({
        variable: name,
        message: 'only applies in Docker mode; it is ignored with WES_ENDPOINT.',
      });
    }
  }
  if (docker && parsed.DOCKER_ENGINE_URL !== undefined && !/^unix:/i.test(parsed.DOCKER_ENGINE_URL)) {
    const certPath = parsed.DOCKER_CERT_PATH ?? '/certs';
    const missing = ['key.pem', 'cert.pem'].filter((f) => !existsSync(join(certPath, f)));
    if (missing.length > 0) {
      warnings.push({
        variable: 'DOCKER_CERT_PATH',
        message: `${certPath} has no ${missing.join(' or ')}: the engine at ${parsed.DOCKER_ENGINE_URL} will be reached without TLS.`,
      });
    }
  }

  checkDockerHubPair(raw, problems);

  const image = parsed.WORKFLOW_ENGINE_DOCKER_IMAGE;
  if (image !== undefined && image !== DEFAULT_ENGINE_IMAGE && !hasTagOrDigest(image)) {
    warnings.push({
      variable: 'WORKFLOW_ENGINE_DOCKER_IMAGE',
      message: `${image} has no tag or digest, so Docker will use :latest, which can change under you; pin a tag.`,
    });
  }
}

function hasTagOrDigest(image: string): boolean {
  if (image.includes('@')) return true;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  return lastSegment.includes(':');
}

function isSynapseOrgHost(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname;
    return host === 'synapse.org' || host.endsWith('.synapse.org') || host.endsWith('.sagebase.org');
  } catch {
    return false;
  }
}

/** The API addresses under a Synapse base URL (Synapse itself or a compatible server). */
export function synapseEndpoint(baseUrl: string): SynapseEndpoint {
  return {
    baseUrl,
    repoUrl: `${baseUrl}/repo/v1`,
    fileUrl: `${baseUrl}/file/v1`,
    authUrl: `${baseUrl}/auth/v1`,
    isSynapseOrg: isSynapseOrgHost(baseUrl),
  };
}

function assemble(
  v: ParsedVariables,
  probes: { hostIdentity: (workDir: string) => string; isDirectory: (path: string) => boolean },
): Config {
  const engine: Config['engine'] =
    v.DOCKER_ENGINE_URL !== undefined
      ? {
          kind: 'docker',
          url: v.DOCKER_ENGINE_URL,
          certPath: v.DOCKER_CERT_PATH,
          certPathOnHost: v.DOCKER_CERT_PATH_HOST,
        }
      : { kind: 'wes', endpoint: v.WES_ENDPOINT ?? '', sharedDir: v.WES_SHARED_DIR_PROPERTY ?? '' };
  const workDir =
    v.ORCHESTRATOR_WORK_DIR ??
    (probes.isDirectory('/shared') ? '/shared' : join(homedir(), '.synapse-orchestrator'));
  return {
    orchestratorId:
      v.ORCHESTRATOR_ID ?? defaultOrchestratorId(probes.hostIdentity(workDir), v.COMPOSE_PROJECT_NAME),
    synapse: {
      endpoint: synapseEndpoint(v.SYNAPSE_ENDPOINT),
      username: v.SYNAPSE_USERNAME,
      authToken: v.SYNAPSE_PAT ?? v.SYNAPSE_PASSWORD,
    },
    queues: v.EVALUATION_TEMPLATES ?? [],
    outputRootEntityId: v.WORKFLOW_OUTPUT_ROOT_ENTITY_ID ?? '',
    engine,
    workflow: {
      engineImage: v.WORKFLOW_ENGINE_DOCKER_IMAGE,
      toilCliOptions: v.TOIL_CLI_OPTIONS,
      privileged: v.RUN_WORKFLOW_CONTAINER_IN_PRIVILEGED_MODE,
      rwVolumes: v.RW_VOLUMES,
      maxConcurrent: v.MAX_CONCURRENT_WORKFLOWS,
      command: v.WORKFLOW_ENGINE_COMMAND,
      maxRuntimeSeconds: v.MAX_RUNTIME_SECONDS,
      memoryBytes: v.WORKFLOW_MEMORY_LIMIT,
      cpus: v.WORKFLOW_CPU_LIMIT,
      pidsLimit: v.WORKFLOW_PIDS_LIMIT,
      pullPolicy: v.IMAGE_PULL_POLICY,
      workDirOnHost: v.ORCHESTRATOR_WORK_DIR_ON_HOST,
      keepFailedJobDirs: v.KEEP_FAILED_JOB_DIRS,
    },
    templates: { maxBytes: v.TEMPLATE_MAX_BYTES, maxEntries: v.TEMPLATE_MAX_ENTRIES },
    instances: {
      staleAfterSeconds: v.STALE_INSTANCE_SECONDS,
      reclaimStale: v.RECLAIM_STALE_SUBMISSIONS,
    },
    notifications: {
      principalId: v.NOTIFICATION_PRINCIPAL_ID,
      submitterMask: v.SUBMITTER_NOTIFICATION_MASK,
      messagesPerMinute: v.MESSAGES_PER_MINUTE,
    },
    logs: { uploadIntervalSeconds: v.LOG_UPLOAD_INTERVAL_SECONDS, maxBytes: v.MAX_LOG_BYTES },
    results: {
      shareImmediately: v.SHARE_RESULTS_IMMEDIATELY,
      dataUnlockPrincipalId: v.DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID,
    },
    intake: {
      acceptNewSubmissions: v.ACCEPT_NEW_SUBMISSIONS,
      executionStage: v.EXECUTION_STAGE,
      pollIntervalSeconds: v.POLL_INTERVAL_SECONDS,
    },
    registries: {
      dockerHub:
        v.DOCKERHUB_USERNAME !== undefined && v.DOCKERHUB_PASSWORD !== undefined
          ? { username: v.DOCKERHUB_USERNAME, password: v.DOCKERHUB_PASSWORD }
          : undefined,
      dockerConfigFile: v.DOCKER_CONFIG_FILE,
    },
    composeProjectName: v.COMPOSE_PROJECT_NAME,
    workDir,
    statusServer: { port: v.STATUS_PORT, bindAddress: v.STATUS_BIND_ADDRESS },
    logging: { level: v.LOG_LEVEL, format: v.LOG_FORMAT },
  };
}

/** Names in the env file that no part of the orchestrator reads: likely typos. */
function warnAboutUnknownNames(names: readonly string[]): ConfigWarning[] {
  const known = new Set<string>([...VARIABLE_NAMES, ...KNOWN_FOREIGN_VARIABLES]);
  return names
    .filter((name) => !known.has(name))
    .map((name) => {
      const guess = closestName(name);
      return {
        variable: name,
        message: `is not a variable the orchestrator reads${guess === undefined ? '' : `; did you mean ${guess}?`}`,
      };
    });
}

function closestName(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of VARIABLE_NAMES) {
    const distance = editDistance(name.toUpperCase(), candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
