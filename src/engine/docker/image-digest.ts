/**
 * Image references and their digests: `parseImageReference` reads `[registry/]path[:tag][@digest]` the way
 * Docker does, and `resolveImageDigest` asks a Docker engine which manifest digest a reference names in
 * its registry, without pulling anything (`GET /distribution/{name}/json`). The engine does the registry
 * talk, so its mirrors, proxies and insecure-registry settings apply (127.0.0.0/8 is insecure by default).
 *
 * A tag is resolved to the digest it points at now; a digest given in the reference is checked to exist
 * and kept as it is. Submissions record both (seeds/000: the tag for people, the digest for machines).
 */
import type Dockerode from 'dockerode';
import { redactText } from '../../logging/redact.js';
import { registryHost } from './registry-auth.js';

export interface ImageReference {
  /** The reference as given. */
  original: string;
  /** The registry part as written (`docker.synapse.org`, `127.0.0.1:5000`); undefined for Docker Hub names. */
  registry: string | undefined;
  /** The registry host, lower-cased; `docker.io` for Docker Hub (see registry-auth.ts). */
  host: string;
  /** The repository path inside the registry, as written (`syn123/model`, `library/busybox`, `busybox`). */
  path: string;
  /** `[registry/]path`: the name without tag or digest, as written. */
  repository: string;
  tag: string | undefined;
  /** `sha256:<64 hex>` */
  digest: string | undefined;
}

export interface ResolvedImage {
  /** `[registry/]path`, as written in the reference. */
  repository: string;
  /** The tag that was resolved (`latest` when the reference named neither tag nor digest). */
  tag?: string;
  /** The manifest digest, `sha256:<64 hex>`. */
  digest: string;
}

export type ImageDigestProblem =
  /** The reference is not a valid image name. */
  | 'invalid-reference'
  /** The registry has no such repository, tag or digest. */
  | 'not-found'
  /** The registry refused the request: no credentials, wrong credentials, or no access. */
  | 'unauthorized'
  /** The engine could not reach the registry (DNS, connection, TLS). */
  | 'registry-unreachable'
  /** The Docker engine itself did not answer. */
  | 'engine-unreachable'
  | 'failed';

export class ImageDigestError extends Error {
  constructor(
    readonly image: string,
    readonly problem: ImageDigestProblem,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(redactText(message), options);
    this.name = 'ImageDigestError';
  }
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 255;

function invalid(reference: string, why: string): ImageDigestError {
  return new ImageDigestError(
    reference,
    'invalid-reference',
    `${JSON.stringify(reference)} is not a valid image reference: ${why}. Expected [registry/]repository[:tag][@sha256:<digest>], e.g. docker.synapse.org/syn123/my-model:v1.`,
  );
}

/** Reads `[registry/]path[:tag][@sha256:digest]`; throws an ImageDigestError ('invalid-reference'). */
export function parseImageReference(reference: string): ImageReference {
  const text = reference.trim();
  if (text === '') throw invalid(reference, 'it is empty');
  if (/\s/.test(text)) throw invalid(reference, 'it contains white space');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw invalid(reference, 'it is a URL; leave out the scheme (https://)');
  }

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw invalid(
        reference,
        `the digest ${JSON.stringify(digest)} is not sha256: followed by 64 hex digits`,
      );
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        reference,
        `the tag ${JSON.stringify(tag)} is not 1 to 128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')`,
      );
    }
  }
  if (rest === '') throw invalid(reference, 'it has no repository name');

  const host = registryHost(rest);
  let registry: string | undefined;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash >= 0 && (host !== 'docker.io' || first.includes('.') || first.includes(':'))) {
    registry = first;
    path = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) {
      throw invalid(
        reference,
        `the registry ${JSON.stringify(registry)} is not a host name with an optional :port`,
      );
    }
  }
  if (path === '') throw invalid(reference, 'it has no repository path after the registry');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const why =
        component !== component.toLowerCase()
          ? 'repository names must be lowercase'
          : "each part of the repository path must be lowercase letters and digits, separated by '.', '_', '__' or '-'";
      throw invalid(reference, `${JSON.stringify(component)}: ${why}`);
    }
  }
  if (rest.length > MAX_NAME_LENGTH) {
    throw invalid(reference, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return { original: reference, registry, host, path, repository: rest, tag, digest };
}

/** `repository:tag`, `repository@digest` or `repository:tag@digest`. */
export function formatImageReference(image: {
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}): string {
  return `${image.repository}${image.tag === undefined ? '' : `:${image.tag}`}${image.digest === undefined ? '' : `@${image.digest}`}`;
}

/** `sha256:0123456789ab`: the first 12 hex digits, as Docker shows image ids. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex === undefined ? digest.slice(0, 12) : `${algorithm ?? ''}:${hex.slice(0, 12)}`;
}

export interface ResolveOptions {
  /** Give up after this long (default 60 s); the engine may be slow to reach a distant registry. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const ENGINE_DOWN = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EACCES',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
]);

interface DockerFailure {
  statusCode?: number;
  code?: string;
  name?: string;
  json?: { message?: unknown } | null;
  message?: string;
}

function detailOf(error: DockerFailure): string {
  const fromJson = error.json?.message;
  const text = typeof fromJson === 'string' && fromJson !== '' ? fromJson : (error.message ?? 'no details');
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /i, '').trim();
}

/**
 * Asks the engine for the manifest digest `image` names in its registry, without pulling. A reference
 * with a digest is checked to exist and returned with that digest; one without is resolved from its tag
 * (`latest` when none is given). `auth` is sent to the registry (X-Registry-Auth) when given.
 */
export async function resolveImageDigest(
  docker: Dockerode,
  image: string,
  auth?: Dockerode.AuthConfig,
  options: ResolveOptions = {},
): Promise<ResolvedImage> {
  const reference = parseImageReference(image);
  const tag = reference.digest === undefined ? (reference.tag ?? 'latest') : reference.tag;
  const query =
    reference.digest === undefined
      ? `${reference.repository}:${tag ?? 'latest'}`
      : `${reference.repository}@${reference.digest}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let answer: Dockerode.ImageDistributionInfo;
  try {
    answer = await docker.getImage(query).distribution({
      ...(auth === undefined ? {} : { authconfig: auth }),
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw explain(error as DockerFailure, query, reference, auth, timeoutMs);
  }
  const found = answer.Descriptor.digest;
  if (typeof found !== 'string' || !DIGEST.test(found)) {
    throw new ImageDigestError(
      query,
      'failed',
      `The Docker engine answered for ${query} without a sha256 manifest digest (got ${JSON.stringify(found)}).`,
    );
  }
  return {
    repository: reference.repository,
    ...(tag === undefined ? {} : { tag }),
    digest: reference.digest ?? found,
  };
}

function explain(
  error: DockerFailure,
  query: string,
  reference: ImageReference,
  auth: Dockerode.AuthConfig | undefined,
  timeoutMs: number,
): ImageDigestError {
  const detail = detailOf(error);
  const where = reference.host === 'docker.io' ? 'Docker Hub' : `the registry ${reference.host}`;
  const status = error.statusCode;
  if (status === undefined) {
    if (error.name === 'AbortError' || error.name === 'TimeoutError') {
      return new ImageDigestError(
        query,
        'registry-unreachable',
        `No answer about ${query} within ${Math.round(timeoutMs / 1000)} s: the Docker engine, or ${where} behind it, is too slow or unreachable.`,
        { cause: error },
      );
    }
    if (error.code !== undefined && ENGINE_DOWN.has(error.code)) {
      return new ImageDigestError(
        query,
        'engine-unreachable',
        `Cannot reach the Docker engine to look up ${query} (${detail}). Is Docker running, and may this account use its socket?`,
        { cause: error },
      );
    }
    return new ImageDigestError(query, 'failed', `Looking up ${query} failed: ${detail}`, { cause: error });
  }
  if (/invalid reference format/i.test(detail) || status === 400) {
    return new ImageDigestError(query, 'invalid-reference', `The Docker engine refused ${query}: ${detail}`, {
      cause: error,
    });
  }
  const refused = (): ImageDigestError => {
    const credentials =
      auth === undefined
        ? `No credentials were sent for ${reference.host}: give them (docker.synapse.org takes the Synapse user name and access token; other registries a Docker config file).`
        : `It refused the credentials${'username' in auth ? ` of user ${auth.username}` : ''} for ${reference.host}, or that user may not read this repository.`;
    return new ImageDigestError(
      query,
      'unauthorized',
      `${where.charAt(0).toUpperCase()}${where.slice(1)} refused access to ${query} (${detail}). Either the repository does not exist, or access needs credentials. ${credentials}`,
      { cause: error },
    );
  };
  // A 401 or 403 is about access whatever the text says.
  if (status === 401 || status === 403) return refused();
  if (
    /dial tcp|connection refused|no such host|timeout|\btls\b|x509|certificate|http response to https client|no route to host|network is unreachable/i.test(
      detail,
    )
  ) {
    return new ImageDigestError(
      query,
      'registry-unreachable',
      `The Docker engine could not reach ${where} to look up ${query}: ${detail}`,
      { cause: error },
    );
  }
  if (
    /manifest unknown|name unknown|not found|no such image|no such manifest/i.test(detail) ||
    status === 404
  ) {
    const what =
      reference.digest === undefined
        ? `no tag ${reference.tag ?? 'latest'} in repository ${reference.repository}`
        : `no manifest ${reference.digest} in repository ${reference.repository}`;
    return new ImageDigestError(
      query,
      'not-found',
      `Image ${query} was not found: ${where} has ${what} (${detail}). Check the name and tag, and push the image first (docker push ${formatImageReference({ repository: reference.repository, tag: reference.tag ?? (reference.digest === undefined ? 'latest' : undefined) })}).`,
      { cause: error },
    );
  }
  if (/unauthorized|authentication required|denied|forbidden/i.test(detail)) return refused();
  return new ImageDigestError(query, 'failed', `Looking up ${query} failed (HTTP ${status}): ${detail}`, {
    cause: error,
  });
}
