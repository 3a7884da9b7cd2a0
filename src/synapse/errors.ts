/**
 * Errors from the Synapse client. They carry what an operator needs (method, path, status, Synapse's
 * reason) and nothing else: no headers, so no token.
 */
import { redactText } from '../logging/redact.js';

/** Network failures that are worth retrying (the request may never have reached the server). */
export const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_BAD_RESPONSE',
  'SOCKET_HANG_UP',
  // A 2xx answer whose body is not JSON: a proxy's error page, a body cut short. Worth another try.
  'NOT_JSON',
]);

export const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export class SynapseError extends Error {
  /** HTTP status; undefined when no response came back (network error, timeout). */
  readonly status: number | undefined;
  /** Synapse's `reason`, or the network error's description. */
  readonly reason: string;
  readonly method: string;
  /** The request path (without host or query string). */
  readonly path: string;
  /** Node's error code for network errors, e.g. ECONNRESET. */
  readonly code: string | undefined;

  constructor(init: { status?: number; reason: string; method: string; path: string; code?: string }) {
    const reason = redactText(init.reason);
    const what = init.status === undefined ? (init.code ?? 'network error') : String(init.status);
    super(`${init.method} ${init.path} failed (${what}): ${reason}`);
    this.name = 'SynapseError';
    this.status = init.status;
    this.reason = reason;
    this.method = init.method;
    this.path = init.path;
    this.code = init.code;
  }

  /** Throttling, server trouble, or the network: the same request may succeed later. */
  get retryable(): boolean {
    if (this.status !== undefined) return RETRYABLE_STATUSES.has(this.status);
    return this.code !== undefined && RETRYABLE_NETWORK_CODES.has(this.code);
  }
}

export function isSynapseError(error: unknown, status?: number): error is SynapseError {
  return error instanceof SynapseError && (status === undefined || error.status === status);
}
