/**
 * The transport under the Synapse client: authenticated JSON calls to the repo, file and auth APIs, and
 * unauthenticated calls to presigned or external URLs (which must never see the Bearer token). Every
 * call goes through the retry policy and comes out as data or a SynapseError.
 *
 * A body is parsed here, not by axios (which hands an unparseable body on as a string): a 2xx answer that
 * is not JSON (a proxy's HTML page, a body cut short) is a retryable error, and one that is JSON of the
 * wrong shape, when the caller gave a schema, an error naming the fields. An error answer's reason is
 * Synapse's `reason`, or what an HTML page says (its title), never the page's markup.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse, type Method } from 'axios';
import type { z } from 'zod';
import type { SynapseEndpoint } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { SynapseError } from './errors.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryHooks, type RetryPolicy } from './retry.js';
import { describeIssues } from './schemas.js';

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
   * The shape a 2xx JSON answer must have. An answer that does not fit is a SynapseError naming the
   * fields (code MALFORMED_RESPONSE, not retried: the same answer would come back); the parsed value is
   * returned (unknown fields kept).
   */
  schema?: z.ZodType;
  /**
   * false: one attempt only. For calls that are not idempotent (POST /message), whose caller decides
   * whether a retry could duplicate something.
   */
  retry?: boolean;
}

/** One call, as an observer sees it: no query, headers or body. */
export interface CallInfo {
  method: string;
  /** The API path (`/repo/v1/...`), or a presigned URL's path when `external`. */
  path: string;
  /** A call to a presigned or external URL rather than to a Synapse API. */
  external: boolean;
}

/** Told about every call (the metrics); never sees headers, bodies or full URLs. */
export interface HttpObserver {
  /** One HTTP attempt ended: `status` is the HTTP status, or undefined when no answer came. */
  attempt(call: CallInfo, status: number | undefined, seconds: number): void;
  /** The call will be tried again. */
  retry(call: CallInfo): void;
  /**
   * The call failed for good (after its retries, if any): `status` is the HTTP status of the last answer,
   * or undefined when there was none (or it was not usable: not JSON, the wrong shape).
   */
  failed(call: CallInfo, status: number | undefined): void;
}

export interface SynapseHttpOptions {
  endpoint: SynapseEndpoint;
  /** Personal access token. Sent only to the three Synapse APIs. */
  token: string;
  retry?: Partial<RetryPolicy>;
  retryHooks?: RetryHooks;
  logger?: Logger;
  userAgent?: string;
  observer?: HttpObserver;
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

const HTML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The text of some markup: tags dropped, entities decoded, white space collapsed. */
function textOf(markup: string): string {
  return markup
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(\w+);/g, (entity, name: string) => HTML_ENTITIES[name.toLowerCase()] ?? entity)
    .replace(/\s+/g, ' ')
    .trim();
}

function headerOf(response: AxiosResponse<unknown>, name: string): string {
  const value: unknown = (response.headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

/**
 * A body that is not Synapse's JSON, described for a person: an HTML page by its title (a proxy's "502 Bad
 * Gateway"), other text by its beginning.
 */
export function describeBody(body: string, contentType = ''): string {
  const trimmed = body.trim();
  if (trimmed === '') return 'an empty body';
  if (/html/i.test(contentType) || /^<(!doctype html|html|head|body)\b/i.test(trimmed)) {
    const title =
      /<title[^>]*>([\s\S]*?)<\/title>/i.exec(trimmed)?.[1] ??
      /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(trimmed)?.[1];
    const text = textOf(title ?? trimmed).slice(0, 200);
    return text === '' ? 'an HTML page' : `an HTML page: "${text}"`;
  }
  const start = trimmed.slice(0, 200).replace(/\s+/g, ' ');
  return `${JSON.stringify(start)}${trimmed.length > 200 ? '…' : ''}`;
}

function reasonOf(response: AxiosResponse<unknown>): string {
  const data = response.data;
  if (data !== null && typeof data === 'object' && 'reason' in data && typeof data.reason === 'string') {
    return data.reason;
  }
  if (typeof data === 'string' && data.trim().length > 0) {
    try {
      const parsed = JSON.parse(data) as { reason?: unknown };
      if (typeof parsed.reason === 'string') return parsed.reason;
    } catch {
      // not JSON: a proxy's HTML page, say
    }
    return `the server answered with ${describeBody(data, headerOf(response, 'content-type'))}`;
  }
  return response.statusText || `HTTP ${response.status}`;
}

/** The JSON of a 2xx answer (undefined for an empty body), or a retryable NOT_JSON error. */
function parseJsonBody(response: AxiosResponse<unknown>, method: string, path: string): unknown {
  const text = typeof response.data === 'string' ? response.data : '';
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const contentType = headerOf(response, 'content-type');
    const type = contentType === '' ? '' : `, ${contentType.split(';')[0] ?? ''}`;
    throw new SynapseError({
      code: 'NOT_JSON',
      reason: `the answer (HTTP ${response.status}${type}) is not JSON but ${describeBody(text, contentType)}`,
      method,
      path,
    });
  }
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
  private readonly observer: HttpObserver | undefined;

  constructor(options: SynapseHttpOptions) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.logger = options.logger;
    this.observer = options.observer;
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
    const call: CallInfo = { method, path, external: false };
    const once = async (): Promise<T> => {
      let response: AxiosResponse<unknown>;
      const began = performance.now();
      try {
        response = await this.api.request({
          method,
          url: `${this.bases[request.api]}${request.path}`,
          params: request.query,
          data: request.body,
          // Parsed below: axios would hand a body that is not JSON on as a string, as if it were data.
          responseType: 'text',
          transformResponse: (data: unknown) => data,
          headers: request.body === undefined ? {} : { 'Content-Type': 'application/json; charset=UTF-8' },
        });
      } catch (error) {
        this.observer?.attempt(call, undefined, (performance.now() - began) / 1000);
        throw networkError(error, method, path);
      }
      this.observer?.attempt(call, response.status, (performance.now() - began) / 1000);
      if (response.status < 200 || response.status >= 300) {
        throw new SynapseError({ status: response.status, reason: reasonOf(response), method, path });
      }
      if (request.responseType === 'text') return response.data as T;
      const body = parseJsonBody(response, method, path);
      if (request.schema === undefined) return body as T;
      const checked = request.schema.safeParse(body);
      if (checked.success) return checked.data as T;
      throw new SynapseError({
        code: 'MALFORMED_RESPONSE',
        reason: `the answer does not have the shape Synapse gives it (${describeIssues(checked.error)})`,
        method,
        path,
      });
    };
    return this.observed(
      call,
      request.retry === false ? once() : withRetry(once, this.policy, this.hooksFor(call)),
    );
  }

  /** The retry hooks of one call: the logger's, the caller's, and the observer's. */
  private hooksFor(call: CallInfo): RetryHooks {
    const observer = this.observer;
    if (observer === undefined) return this.hooks;
    return {
      ...this.hooks,
      onRetry: (error, attempt, delayMs) => {
        observer.retry(call);
        this.hooks.onRetry?.(error, attempt, delayMs);
      },
    };
  }

  /** Tells the observer when the call fails for good. */
  private async observed<T>(call: CallInfo, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } catch (error) {
      this.observer?.failed(call, error instanceof SynapseError ? error.status : undefined);
      throw error;
    }
  }

  /**
   * A call to a presigned or external URL: no Synapse headers. Retried like API calls unless `retry` is
   * false (a streamed body cannot be sent twice).
   */
  async fetchUrl(request: UrlRequest, retry = true): Promise<UrlResponse> {
    const path = new URL(request.url).pathname;
    const method = request.method.toUpperCase();
    const call: CallInfo = { method, path, external: true };
    const once = async () => {
      let response: AxiosResponse<unknown>;
      const began = performance.now();
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
        this.observer?.attempt(call, undefined, (performance.now() - began) / 1000);
        throw networkError(error, method, path);
      }
      this.observer?.attempt(call, response.status, (performance.now() - began) / 1000);
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
    return this.observed(call, retry ? withRetry(once, this.policy, this.hooksFor(call)) : once());
  }
}
