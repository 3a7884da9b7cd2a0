/**
 * The settings `setup` and `submit` need, read the way `run` reads its own: the real environment first,
 * then the env file (`--env-file`, default `.env` in the working directory), then defaults; an empty
 * value or the literal `null` counts as unset. Only the account and endpoint (and, for Docker
 * submissions, the engine and registry credentials) are read: the orchestrator-only variables such as
 * EVALUATION_TEMPLATES are not required. Each value goes through the variables registry's own parser, so
 * a mistake is reported exactly as `validate` would report it, naming the variable. The token is
 * registered with the redactor and never shown.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SynapseEndpoint } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { checkDockerHubPair, present, readVariables, synapseEndpoint } from '../config/load.js';
import type { VariableName } from '../config/variables.js';

/** What `setup` and `submit` read. */
const NAMES = [
  'SYNAPSE_ENDPOINT',
  'SYNAPSE_PAT',
  'SYNAPSE_PASSWORD',
  'SYNAPSE_USERNAME',
  'DOCKER_ENGINE_URL',
  'DOCKER_CERT_PATH',
  'DOCKERHUB_USERNAME',
  'DOCKERHUB_PASSWORD',
  'DOCKER_CONFIG_FILE',
] as const satisfies readonly VariableName[];

export const DEFAULT_DOCKER_ENGINE_URL = 'unix:///var/run/docker.sock';

export interface PlatformAccess {
  endpoint: SynapseEndpoint;
  /** Personal access token (SYNAPSE_PAT, or the deprecated SYNAPSE_PASSWORD). Never print it. */
  token: string;
  /** SYNAPSE_USERNAME when set; otherwise the token's own user name is used. */
  username: string | undefined;
  /** Where the settings came from, for messages. */
  origin: string;
  docker: {
    /** DOCKER_ENGINE_URL, else DOCKER_HOST from the environment, else the local socket. */
    url: string;
    certPath: string;
    dockerHub: { username: string; password: string } | undefined;
    /** DOCKER_CONFIG_FILE, else $DOCKER_CONFIG/config.json or ~/.docker/config.json (as docker login writes it). */
    configFile: string;
  };
}

export interface AccessOptions {
  /** The global --env-file option; when given, the file must exist. */
  envFile?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads and checks the settings; throws a ConfigError listing every problem. */
export function loadPlatformAccess(options: AccessOptions = {}): PlatformAccess {
  const { raw, parsed, problems, origin } = readVariables(NAMES, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
    envFileMustExist: options.envFile !== undefined,
  });

  const token = raw.SYNAPSE_PAT ?? raw.SYNAPSE_PASSWORD;
  const baseUrl = parsed.SYNAPSE_ENDPOINT;
  if (token === undefined && baseUrl !== undefined) {
    const synapse = synapseEndpoint(baseUrl).isSynapseOrg;
    problems.push({
      variable: 'SYNAPSE_PAT',
      message: `not set: a personal access token is required to use ${
        synapse ? 'Synapse' : 'the Synapse-compatible server'
      } at ${baseUrl} (${
        synapse
          ? 'create one under Account Settings > Personal Access Tokens, with view, download and modify scopes'
          : 'on the local platform, `synapse-orchestrator local-admin create-user <name>` prints one'
      })`,
    });
  }
  checkDockerHubPair(raw, problems);
  if (problems.length > 0 || token === undefined || baseUrl === undefined) {
    throw new ConfigError(problems, origin);
  }

  const env = options.env ?? process.env;
  const dockerHost = present(env.DOCKER_HOST);
  const dockerConfigDir = present(env.DOCKER_CONFIG) ?? join(homedir(), '.docker');
  return {
    endpoint: synapseEndpoint(baseUrl),
    token,
    username: parsed.SYNAPSE_USERNAME,
    origin,
    docker: {
      url: parsed.DOCKER_ENGINE_URL ?? dockerHost ?? DEFAULT_DOCKER_ENGINE_URL,
      certPath: parsed.DOCKER_CERT_PATH ?? '/certs',
      dockerHub:
        raw.DOCKERHUB_USERNAME !== undefined && raw.DOCKERHUB_PASSWORD !== undefined
          ? { username: raw.DOCKERHUB_USERNAME, password: raw.DOCKERHUB_PASSWORD }
          : undefined,
      configFile: parsed.DOCKER_CONFIG_FILE ?? join(dockerConfigDir, 'config.json'),
    },
  };
}
