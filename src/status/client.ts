/**
 * The client side of the status server, for `health` and `status`: where the server of the instance
 * configured here listens (STATUS_PORT and STATUS_BIND_ADDRESS, read from the environment and the env
 * file exactly as `run` reads them; `--url` overrides), and one GET with a time limit. Only those two
 * variables are read: the commands work even where the rest of the configuration is incomplete.
 */
import { ConfigError } from '../config/config-error.js';
import { readVariables } from '../config/load.js';
import { statusUrl } from './address.js';

export interface StatusTarget {
  /** Base URL, without a trailing slash. */
  baseUrl: string;
  /** How the URL was found, for messages ("STATUS_PORT=8484", "--url"). */
  origin: string;
  /** True when STATUS_PORT is 0 and no --url was given: no server to ask. */
  off: boolean;
}

export function statusTarget(envFile: string | undefined, url: string | undefined): StatusTarget {
  if (url !== undefined) return { baseUrl: url.replace(/\/+$/, ''), origin: '--url', off: false };
  const reading = readVariables(['STATUS_PORT', 'STATUS_BIND_ADDRESS'] as const, {
    envFile,
    envFileMustExist: envFile !== undefined,
  });
  const { STATUS_PORT: port, STATUS_BIND_ADDRESS: bindAddress } = reading.parsed;
  if (reading.problems.length > 0 || port === undefined || bindAddress === undefined) {
    throw new ConfigError(reading.problems, reading.origin);
  }
  return {
    baseUrl: statusUrl({ port, bindAddress }),
    origin: `STATUS_PORT=${port}${bindAddress === '127.0.0.1' ? '' : `, STATUS_BIND_ADDRESS=${bindAddress}`}`,
    off: port === 0,
  };
}

export interface StatusAnswer {
  status: number;
  body: unknown;
}

/** GET `url`; rejects with a one-line reason when there is no answer within `timeoutMs`. */
export async function getJson(url: string, timeoutMs: number): Promise<StatusAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new Error(`no answer within ${timeoutMs} ms`, { cause: error });
    }
    const code = err.cause?.code;
    // An errno (ECONNREFUSED, EHOSTUNREACH, …) says it best; undici's own codes less so.
    const reason =
      code !== undefined && /^E[A-Z]+$/.test(code)
        ? code
        : code === 'UND_ERR_SOCKET'
          ? 'the connection was closed'
          : (err.cause?.message ?? err.message);
    throw new Error(reason, { cause: error });
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body };
}
