/**
 * The GA4GH Workflow Execution Service API (WES 1.0 / 1.1), as the orchestrator uses it: service-info,
 * create a run, list runs, a run's status and log, cancel, and the run's stdout/stderr where the server
 * gives them as URLs.
 *
 * Every call has a timeout and goes through one retry policy (SWO's had neither, and one refused
 * connection ended the process). A run is created once only: POST /runs is never retried, because a
 * retry after a lost answer would start the workflow twice; the engine looks the run up by its tags instead.
 */
import { withRetry, type RetryPolicy } from '../../synapse/retry.js';
import { redactText } from '../../logging/redact.js';

/** Run states of WES 1.0/1.1. */
export type WesState =
  | 'UNKNOWN'
  | 'QUEUED'
  | 'INITIALIZING'
  | 'RUNNING'
  | 'PAUSED'
  | 'COMPLETE'
  | 'EXECUTOR_ERROR'
  | 'SYSTEM_ERROR'
  | 'CANCELED'
  | 'CANCELING'
  | 'PREEMPTED';

export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
]);

export interface RunSummary {
  run_id: string;
  state: string;
}

export interface RunLog {
  run_id: string;
  state?: string;
  request?: { tags?: unknown; workflow_url?: unknown };
  run_log?: {
    start_time?: string | null;
    end_time?: string | null;
    stdout?: string | null;
    stderr?: string | null;
    exit_code?: number | null;
  } | null;
}

export interface ServiceInfo {
  workflow_type_versions?: Record<string, { workflow_type_version?: string[] } | undefined>;
  supported_wes_versions?: string[];
  workflow_engine_versions?: Record<string, string>;
}

/** A WES call that failed: `status` is the HTTP status, undefined when the server was not reached. */
export class WesError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'WesError';
  }

  /** The server did not answer, or answered that it cannot now: worth another attempt later. */
  get unavailable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export interface WesRetry {
  /** Most attempts of one call, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up on one call after this long. */
  totalTimeMs: number;
  /** Timeout of each request. */
  requestTimeoutMs: number;
}

/** A few quick attempts: a server that stays away is waited for by the lifecycle, tick after tick. */
export const DEFAULT_WES_RETRY: WesRetry = {
  maxAttempts: 4,
  initialDelayMs: 1_000,
  maxDelayMs: 8_000,
  totalTimeMs: 30_000,
  requestTimeoutMs: 30_000,
};

/** A range of a text served over HTTP, from `offset` on. */
export interface TextRange {
  text: Buffer;
  /** The offset the next read starts at. */
  next: number;
}

export class WesClient {
  readonly endpoint: string;
  private readonly policy: RetryPolicy;

  constructor(endpoint: string, retry: Partial<WesRetry> = {}) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    const r = { ...DEFAULT_WES_RETRY, ...retry };
    this.policy = {
      maxAttempts: r.maxAttempts,
      initialDelayMs: r.initialDelayMs,
      rateLimitInitialDelayMs: r.initialDelayMs,
      maxDelayMs: r.maxDelayMs,
      totalTimeMs: r.totalTimeMs,
      requestTimeoutMs: r.requestTimeoutMs,
    };
  }

  serviceInfo(): Promise<ServiceInfo> {
    return this.json<ServiceInfo>('GET', '/service-info');
  }

  /** Creates a run; one attempt only (see the file comment). Returns the server's run id. */
  async createRun(form: FormData): Promise<string> {
    const body = await this.call<{ run_id?: unknown }>('POST', '/runs', { body: form, retry: false });
    if (typeof body.run_id !== 'string' || body.run_id === '') {
      throw new WesError(`${this.endpoint}/runs answered without a run_id`, 200);
    }
    return body.run_id;
  }

  /**
   * Every run the server lists, following next_page_token. WES 1.0 names the list `runs`; older servers
   * (wes-service, Toil 5) name it `workflows`: both are read.
   */
  async listRuns(): Promise<RunSummary[]> {
    const runs: RunSummary[] = [];
    // A run on two pages (a server that ignores page_token, or whose list moved on meanwhile) counts once.
    const seenRuns = new Set<string>();
    const seenTokens = new Set<string>();
    let token = '';
    for (;;) {
      const path = token === '' ? '/runs' : `/runs?page_token=${encodeURIComponent(token)}`;
      const page = await this.json<{ runs?: unknown; workflows?: unknown; next_page_token?: unknown }>(
        'GET',
        path,
      );
      const list = Array.isArray(page.runs) ? page.runs : Array.isArray(page.workflows) ? page.workflows : [];
      for (const item of list as unknown[]) {
        const run = item as { run_id?: unknown; state?: unknown };
        if (typeof run.run_id === 'string' && !seenRuns.has(run.run_id)) {
          seenRuns.add(run.run_id);
          runs.push({ run_id: run.run_id, state: typeof run.state === 'string' ? run.state : 'UNKNOWN' });
        }
      }
      token = typeof page.next_page_token === 'string' ? page.next_page_token : '';
      // A server that hands out the same token again would page forever.
      if (token === '' || list.length === 0 || seenTokens.has(token)) return runs;
      seenTokens.add(token);
    }
  }

  async status(runId: string): Promise<string> {
    const body = await this.json<{ state?: unknown }>('GET', `/runs/${encodeURIComponent(runId)}/status`);
    return typeof body.state === 'string' ? body.state : 'UNKNOWN';
  }

  runLog(runId: string): Promise<RunLog> {
    return this.json<RunLog>('GET', `/runs/${encodeURIComponent(runId)}`);
  }

  async cancel(runId: string): Promise<void> {
    await this.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`, {});
  }

  /** The absolute URL of a log given relative to the run (Toil: "../../../../toil/wes/v1/logs/<id>/stderr"). */
  logUrl(runId: string, value: string): URL {
    return new URL(value, `${this.endpoint}/runs/${encodeURIComponent(runId)}`);
  }

  /** The bytes of `url` from `offset` on (a Range request; a server that ignores it is sliced here). */
  async textFrom(url: URL, offset: number): Promise<TextRange> {
    return withRetry(
      async () => {
        let response: Response;
        try {
          response = await fetch(url, {
            headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
            signal: AbortSignal.timeout(this.policy.requestTimeoutMs),
          });
        } catch (error) {
          throw new WesError(`${url.href} did not answer: ${describe(error)}`, undefined);
        }
        if (response.status === 416) return { text: Buffer.alloc(0), next: offset };
        if (response.status === 404) return { text: Buffer.alloc(0), next: offset };
        if (!response.ok) {
          throw new WesError(`GET ${url.href} answered ${response.status}`, response.status);
        }
        const bytes = Buffer.from(await response.arrayBuffer());
        if (response.status === 206) return { text: bytes, next: offset + bytes.length };
        const rest = bytes.subarray(Math.min(offset, bytes.length));
        return { text: rest, next: Math.max(offset, bytes.length) };
      },
      this.policy,
      {},
      classify,
    );
  }

  private json<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    return this.call<T>(method, path, {});
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: FormData; retry?: boolean },
  ): Promise<T> {
    const url = `${this.endpoint}${path}`;
    const once = async (): Promise<T> => {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: { accept: 'application/json' },
          ...(options.body === undefined ? {} : { body: options.body }),
          signal: AbortSignal.timeout(this.policy.requestTimeoutMs),
        });
      } catch (error) {
        throw new WesError(
          `The WES server at ${this.endpoint} did not answer ${method} ${path}: ${describe(error)}`,
          undefined,
        );
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        // The answer was cut off (the server restarting mid-reply, say): as good as no answer.
        throw new WesError(
          `The WES server at ${this.endpoint} broke off its answer to ${method} ${path}: ${describe(error)}`,
          undefined,
        );
      }
      if (!response.ok) {
        throw new WesError(
          `The WES server answered ${method} ${path} with ${response.status}${serverMessage(text)}`,
          response.status,
        );
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new WesError(
          `The WES server answered ${method} ${path} with something that is not JSON`,
          response.status,
        );
      }
    };
    if (options.retry === false) return once();
    return withRetry(once, this.policy, {}, classify);
  }
}

const classify = (error: unknown) => ({
  retryable: error instanceof WesError && error.unavailable,
  rateLimited: error instanceof WesError && error.status === 429,
});

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return redactText(typeof cause?.message === 'string' ? cause.message : (error as Error).message);
}

/** The server's own explanation (WES errors are {"msg": …, "status_code": …}), short. */
function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { msg?: unknown };
    if (typeof body.msg === 'string' && body.msg !== '') return `: ${redactText(body.msg).slice(0, 500)}`;
  } catch {
    // not JSON (an HTML error page, say): the status says enough
  }
  return '';
}
