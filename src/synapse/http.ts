/**
 * The transport under the Synapse client: authenticated JSON calls to the repo, file and auth APIs, and
 * unauthenticated calls to presigned or external URLs (which must never see the Bearer token). Every
 * call goes through the retry policy and comes out as data or a SynapseError.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse, type Method } from 'axios';
import type { SynapseEndpoint } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { SynapseError } from './errors.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryHooks, type RetryPolicy } from './retry.js';

export type SynapseApi = 'repo' | 'file' | 'auth';

export interface SynapseRequest {
  api: SynapseApi;
  method: Method;
  /** Path under the API base, starting with '/'. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** 'text' for the ?redirect=false URL endpoints. */
  responseType?: 'json' | 'text';
  /**
   * false: one attempt only. For calls that are not idempotent (POST /message), whose caller decides
   * whether a retry could duplicate something.
   */
  retry?: boolean;
}

export interface SynapseHttpOptions {
  endpoint: SynapseEndpoint;
  /** Personal access token. Sent only to the three Synapse APIs. */
  token: string;
  retry?: Partial<RetryPolicy>;
  retryHooks?: RetryHooks;
  logger?: Logger;
  userAgent?: string;
}

/** Options for calls to presigned or external URLs. */
export interface UrlRequest {
  method: Method;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | NodeJS.ReadableStream;
  responseType?: 'json' | 'text' | 'stream' | 'arraybuffer';
}

export interface UrlResponse {
  status: number;
  /** Parsed JSON, text, a stream or an ArrayBuffer, per the request's responseType. */
  data: unknown;
  headers: Record<string, unknown>;
}

function reasonOf(response: AxiosResponse<unknown>): string {
  const data = response.data;
  if (data !== null && typeof data === 'object' && 'reason' in data && typeof data.reason === 'string') {
    return data.reason;
  }
  if (typeof data === 'string' && data.length > 0) {
    try {
      const parsed = JSON.parse(data) as { reason?: unknown };
      if (typeof parsed.reason === 'string') return parsed.reason;
    } catch {
      // not JSON: a proxy's HTML page, say
    }
    return data.slice(0, 300);
  }
  return response.statusText || `HTTP ${response.status}`;
}

function networkError(error: unknown, method: string, path: string): SynapseError {
  const err = error as { code?: string; message?: string };
  let code = err.code;
  if (code === undefined && typeof err.message === 'string' && /socket hang up/i.test(err.message)) {
    code = 'SOCKET_HANG_UP';
  }
  // Only the message: an axios error also holds the request config, headers (the token) included.
  return new SynapseError({
    reason: err.message ?? 'request failed',
    method,
    path,
    ...(code ? { code } : {}),
  });
}

export class SynapseHttp {
  readonly policy: RetryPolicy;
  private readonly api: AxiosInstance;
  private readonly bare: AxiosInstance;
  private readonly bases: Record<SynapseApi, string>;
  private readonly hooks: RetryHooks;
  private readonly logger: Logger | undefined;

  constructor(options: SynapseHttpOptions) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.logger = options.logger;
    this.hooks = {
      ...options.retryHooks,
      onRetry: (error, attempt, delayMs) => {
        this.logger?.warn('Synapse call will be retried', {
          method: error.method,
          path: error.path,
          status: error.status,
          code: error.code,
          reason: error.reason,
          attempt,
          delayMs,
        });
        options.retryHooks?.onRetry?.(error, attempt, delayMs);
      },
    };
    this.bases = {
      repo: options.endpoint.repoUrl,
      file: options.endpoint.fileUrl,
      auth: options.endpoint.authUrl,
    };
    const common = {
      timeout: this.policy.requestTimeoutMs,
      maxRedirects: 0,
      validateStatus: () => true,
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
    };
    this.api = axios.create({
      ...common,
      headers: {
        Authorization: `Bearer ${options.token}`,
        Accept: 'application/json; charset=UTF-8',
        'User-Agent': options.userAgent ?? 'synapse-orchestrator',
      },
    });
    this.bare = axios.create({ ...common, maxBodyLength: Infinity, maxContentLength: Infinity });
  }

  /** One Synapse API call, retried per the policy. Returns the parsed body (or text). */
  async request<T>(request: SynapseRequest): Promise<T> {
    const method = request.method.toUpperCase();
    const path = `/${request.api}/v1${request.path}`;
    const once = async (): Promise<T> => {
      let response: AxiosResponse<unknown>;
      try {
        response = await this.api.request({
          method,
          url: `${this.bases[request.api]}${request.path}`,
          params: request.query,
          data: request.body,
          responseType: request.responseType === 'text' ? 'text' : 'json',
          headers: request.body === undefined ? {} : { 'Content-Type': 'application/json; charset=UTF-8' },
        });
      } catch (error) {
        throw networkError(error, method, path);
      }
      if (response.status >= 200 && response.status < 300) return response.data as T;
      throw new SynapseError({ status: response.status, reason: reasonOf(response), method, path });
    };
    return request.retry === false ? once() : withRetry(once, this.policy, this.hooks);
  }

  /**
   * A call to a presigned or external URL: no Synapse headers. Retried like API calls unless `retry` is
   * false (a streamed body cannot be sent twice).
   */
  async fetchUrl(request: UrlRequest, retry = true): Promise<UrlResponse> {
    const path = new URL(request.url).pathname;
    const method = request.method.toUpperCase();
    const once = async () => {
      let response: AxiosResponse<unknown>;
      try {
        response = await this.bare.request({
          method,
          url: request.url,
          headers: request.headers,
          data: request.body,
          responseType: request.responseType ?? 'json',
          maxRedirects: 5,
        });
      } catch (error) {
        throw networkError(error, method, path);
      }
      if (response.status >= 200 && response.status < 300) {
        return {
          status: response.status,
          data: response.data,
          headers: response.headers as Record<string, unknown>,
        };
      }
      if (request.responseType === 'stream')
        (response.data as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      throw new SynapseError({ status: response.status, reason: reasonOf(response), method, path });
    };
    return retry ? withRetry(once, this.policy, this.hooks) : once();
  }
}
