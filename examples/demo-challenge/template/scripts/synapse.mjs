// The little of Synapse's REST API that download.mjs and annotate.mjs need, with no dependencies: node 18's
// fetch, the synapseConfig file the orchestrator hands the workflow, and retries for transient failures.
// Nothing here prints the token: errors name the method, the path and Synapse's reason only.
import { readFileSync } from 'node:fs';

/** Synapse's own repository endpoint, used when synapseConfig has no [endpoints] section. */
const DEFAULT_REPO_ENDPOINT = 'https://repo-prod.prod.sagebase.org/repo/v1';

const ATTEMPTS = 5;
const REQUEST_TIMEOUT_MS = 60_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads a synapseclient-style INI file: `[authentication]` with `username` and `authtoken`, and an optional
 * `[endpoints]` section with `repoEndpoint` (the only endpoint these scripts use). Keys are matched without
 * regard to case, as Python's configparser does; `key=value` and `key: value` both work.
 */
export function readSynapseConfig(path) {
  const sections = {};
  let section = '';
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1].trim().toLowerCase();
      continue;
    }
    const pair = /^([^=:]+)[=:](.*)$/.exec(line);
    if (pair !== null) (sections[section] ??= {})[pair[1].trim().toLowerCase()] = pair[2].trim();
  }
  const token = sections.authentication?.authtoken;
  if (token === undefined || token === '') {
    throw new Error('synapseConfig has no authtoken in its [authentication] section');
  }
  const repoEndpoint = (sections.endpoints?.repoendpoint || DEFAULT_REPO_ENDPOINT).replace(/\/+$/, '');
  return { username: sections.authentication.username, token, repoEndpoint };
}

/** A URL fit for a log line: no user info, no query string (a presigned URL's signature stays out). */
function printable(url) {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Synapse's reason from an error body, or the start of the body. */
async function reasonOf(response) {
  const text = await response.text().catch(() => '');
  try {
    const reason = JSON.parse(text).reason;
    if (typeof reason === 'string') return reason;
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}

/**
 * fetch with retries on 429, 5xx and network errors (1, 2, 4, 8 s apart, or Retry-After when Synapse sends
 * one, at most 30 s). Other statuses are returned as they are, for the caller to judge.
 */
export async function fetchWithRetry(url, init = {}) {
  for (let attempt = 1; ; attempt++) {
    let wait = 1_000 * 2 ** (attempt - 1);
    let problem;
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (response.status !== 429 && response.status < 500) return response;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.min(30_000, retryAfter * 1_000);
      problem = `${response.status} ${await reasonOf(response)}`;
    } catch (error) {
      problem = error.cause?.message ?? error.message;
    }
    const what = `${init.method ?? 'GET'} ${printable(url)}`;
    if (attempt >= ATTEMPTS) throw new Error(`${what} failed after ${attempt} attempts: ${problem}`);
    console.error(`${what}: ${problem}; trying again in ${wait / 1_000} s`);
    await sleep(wait);
  }
}

/**
 * A call to the repository API (`path` starts with /, e.g. /evaluation/submission/123). Answers with the
 * response; a status other than 2xx or one listed in `accept` becomes an Error with Synapse's reason.
 */
export async function synapse(config, method, path, { body, accept = [] } = {}) {
  const url = `${config.repoEndpoint}${path}`;
  const response = await fetchWithRetry(url, {
    method,
    headers: {
      Authorization: `Bearer ${config.token}`,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && !accept.includes(response.status)) {
    throw new Error(`${method} ${printable(url)} answered ${response.status}: ${await reasonOf(response)}`);
  }
  return response;
}

/** Runs a script's main function; an error ends the step with exit 1 and one line on stderr. */
export function run(name, main) {
  main().catch((error) => {
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  });
}
