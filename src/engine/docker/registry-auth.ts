/**
 * Which credentials to send when pulling an image, chosen by the registry the image reference names.
 *
 * SWO knew two registries (docker.synapse.org with the Synapse account, Docker Hub with DOCKERHUB_*); this
 * adds any registry listed in a Docker config file (`auths` of a config.json, as `docker login` writes it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { registerSecret } from '../../logging/redact.js';

/** What Docker's X-Registry-Auth header carries for a username/password login. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface RegistryAuthOptions {
  synapseUsername?: string;
  /** Personal access token; docker.synapse.org takes it as the password. */
  synapseToken?: string;
  dockerHub?: { username: string; password: string };
  /** A Docker config.json; a missing file means no extra registries, a malformed one is an error. */
  dockerConfigPath?: string;
  /**
   * The variable that named dockerConfigPath (DOCKER_CONFIG_FILE): a file the operator named must exist, and
   * the error names the variable. Unset for a default location, which may well be absent.
   */
  dockerConfigVariable?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const SYNAPSE_REGISTRY = 'docker.synapse.org';

/**
 * The registry host of an image reference, lower-cased; `docker.io` for Docker Hub images.
 *
 * Docker's rule: the first path component is a registry when it has a '.' or ':', is 'localhost', or has
 * upper-case letters (repository names cannot); otherwise the image is on Docker Hub.
 */
export function registryHost(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = image.slice(0, slash);
  const isHost =
    first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
  if (!isHost) return DOCKER_HUB;
  const host = first.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** A key of a config file's `auths` ("https://index.docker.io/v1/", "ghcr.io", …) as a registry host. */
function hostOfAuthKey(key: string): string {
  const host = (key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '').toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Username/password pairs from the `auths` of a Docker config file, by registry host. */
export function readDockerConfigAuths(path: string): Map<string, RegistryAuth> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`Cannot read the Docker config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file, which holds passwords: say only where it is.
    throw new Error(`The Docker config file ${path} is not valid JSON`);
  }
  const result = new Map<string, RegistryAuth>();
  const auths = isRecord(parsed) ? parsed.auths : undefined;
  if (!isRecord(auths)) return result;
  for (const [key, entry] of Object.entries(auths)) {
    if (!isRecord(entry)) continue;
    let username: string | undefined;
    let password: string | undefined;
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      username = entry.username;
      password = entry.password;
    } else if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
    }
    // Entries with only an identity token or a credential helper are not supported.
    if (username === undefined || password === undefined || password === '') continue;
    const host = hostOfAuthKey(key);
    if (host === '' || result.has(host)) continue;
    registerSecret(password);
    result.set(host, {
      username,
      password,
      serveraddress: host === DOCKER_HUB ? DOCKER_HUB_SERVER : host,
    });
  }
  return result;
}

/**
 * Returns a function giving the credentials for an image, or undefined to pull anonymously.
 * The config file is read once, here.
 */
export function registryAuthResolver(
  options: RegistryAuthOptions,
): (image: string) => RegistryAuth | undefined {
  const path = options.dockerConfigPath;
  if (path !== undefined && options.dockerConfigVariable !== undefined && !existsSync(path)) {
    throw new Error(
      `${options.dockerConfigVariable} names ${path}, which does not exist (no registry credentials can be read ` +
        `from it): correct the path, or unset ${options.dockerConfigVariable}.`,
    );
  }
  const fromFile = path === undefined ? new Map<string, RegistryAuth>() : readDockerConfigAuths(path);
  const { synapseUsername, synapseToken, dockerHub } = options;
  return (image) => {
    const host = registryHost(image);
    if (host === SYNAPSE_REGISTRY && synapseUsername !== undefined && synapseToken !== undefined) {
      return { username: synapseUsername, password: synapseToken, serveraddress: SYNAPSE_REGISTRY };
    }
    if (host === DOCKER_HUB && dockerHub !== undefined) {
      return { username: dockerHub.username, password: dockerHub.password, serveraddress: DOCKER_HUB_SERVER };
    }
    return fromFile.get(host);
  };
}
