/**
 * A stand-in GA4GH WES server on 127.0.0.1, answering the way Toil 5.9's `toil server` does (the reference
 * server of the WES backend): the run list as `{"workflows": […], "next_page_token": ""}` (or, optionally,
 * WES 1.0's `runs` with paging), `request.tags` as an object, `run_log.start_time` without a zone,
 * stdout/stderr as URLs relative to the run ("../../../../toil/wes/v1/logs/<id>/stderr") that honour
 * `Range: bytes=N-`, 403 on cancelling a failed run, and `{"msg": …, "status_code": …}` errors.
 *
 * `serve` is the bare server underneath, for tests that script the answers themselves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface SeenRequest {
  method: string;
  /** Path and query, e.g. /ga4gh/wes/v1/runs?page_token=2. */
  url: string;
  range: string | undefined;
}

export interface Served {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** An HTTP server on a free loopback port; each request is recorded, its body read, then handed over. */
export async function serve(handler: Handler): Promise<Served> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handler(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        // Requests a test left hanging would keep close() waiting.
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Toil's error body. */
export function sendError(res: ServerResponse, status: number, msg: string): void {
  sendJson(res, status, { msg, status_code: status });
}

/** Serves `content` as a log URL does: `Range: bytes=N-` gives 206 (416 past the end) unless ignored. */
export function sendText(
  req: IncomingMessage,
  res: ServerResponse,
  content: string,
  honourRange: boolean,
): void {
  const bytes = Buffer.from(content);
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range !== null && honourRange) {
    const start = Number(range[1]);
    if (start >= bytes.length) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
      res.end();
      return;
    }
    const part = bytes.subarray(start);
    res.writeHead(206, {
      'content-type': 'text/plain',
      'content-length': part.length,
      'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
    });
    res.end(part);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytes.length });
  res.end(bytes);
}

export const WES_PATH = '/ga4gh/wes/v1';
const LOG_PATH = '/toil/wes/v1/logs';

export interface FakeRun {
  state: string;
  /** As the server echoes them in `request.tags` (Toil: an object). */
  tags?: unknown;
  /** Toil's form: "2026-12-07T04:43:22.088304". */
  startTime?: string | null;
  endTime?: string | null;
  exitCode?: number | null;
  /** The run's output, served at its log URLs. */
  stdout?: string;
  stderr?: string;
}

export interface FakeWesOptions {
  /**
   * 'toil' (default): `workflows`, everything on one page; 'wes': WES 1.0's `runs`, `pageSize` a page;
   * 'stuck': a server that ignores page_token and hands out the same page and token every time.
   */
  listStyle?: 'toil' | 'wes' | 'stuck';
  pageSize?: number;
  /** Whether log URLs honour Range (default true, as Toil's do). */
  honourRange?: boolean;
}

export class FakeWes {
  readonly runs = new Map<string, FakeRun>();
  /** Called before GET /runs/{id} is answered, with how many times that run's log was read (1 first). */
  onRunLog: ((runId: string, run: FakeRun, reads: number) => void) | undefined;
  /** Runs created by POST /runs, with the form they came with. */
  readonly created: { runId: string; form: FormData }[] = [];
  private readonly runLogReads = new Map<string, number>();
  private nextId = 1;

  private constructor(
    private readonly served: Served,
    private readonly options: FakeWesOptions,
  ) {}

  static async start(options: FakeWesOptions = {}): Promise<FakeWes> {
    const holder: { fake?: FakeWes } = {};
    const served = await serve((req, res, body) => {
      holder.fake?.handle(req, res, body).catch((error: unknown) => {
        sendError(res, 500, String(error));
      });
    });
    holder.fake = new FakeWes(served, options);
    return holder.fake;
  }

  /** WES_ENDPOINT of this server. */
  get endpoint(): string {
    return `${this.served.origin}${WES_PATH}`;
  }

  get requests(): SeenRequest[] {
    return this.served.requests;
  }

  /** Requests so far with this method and a path starting with `prefix` (relative to the endpoint). */
  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.url.startsWith(`${WES_PATH}${prefix}`))
      .length;
  }

  add(runId: string, run: FakeRun): FakeRun {
    this.runs.set(runId, run);
    return run;
  }

  stop(): Promise<void> {
    return this.served.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', this.served.origin);
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith(`${LOG_PATH}/`)) {
      const [runId, stream] = url.pathname.slice(LOG_PATH.length + 1).split('/');
      const run = this.runs.get(runId ?? '');
      if (run === undefined || (stream !== 'stdout' && stream !== 'stderr')) {
        sendError(res, 404, 'no such log');
        return;
      }
      sendText(req, res, run[stream] ?? '', this.options.honourRange ?? true);
      return;
    }
    if (!url.pathname.startsWith(WES_PATH)) {
      sendError(res, 404, `The requested URL ${url.pathname} was not found on the server.`);
      return;
    }
    const path = url.pathname.slice(WES_PATH.length);
    if (method === 'GET' && path === '/service-info') {
      sendJson(res, 200, {
        workflow_type_versions: { CWL: { workflow_type_version: ['v1.0', 'v1.1', 'v1.2'] } },
        supported_wes_versions: ['1.0.0'],
        workflow_engine_versions: { toil: '5.9.0' },
      });
      return;
    }
    if (path === '/runs') {
      if (method === 'GET') this.list(res, url.searchParams.get('page_token') ?? '');
      else await this.create(req, res, body);
      return;
    }
    const match = /^\/runs\/([^/]+)(\/status|\/cancel)?$/.exec(path);
    const runId = decodeURIComponent(match?.[1] ?? '');
    const run = this.runs.get(runId);
    if (match === null || run === undefined) {
      sendError(res, 404, `Run ${runId} not found.`);
      return;
    }
    const what = match[2];
    if (method === 'GET' && what === undefined) {
      const reads = (this.runLogReads.get(runId) ?? 0) + 1;
      this.runLogReads.set(runId, reads);
      this.onRunLog?.(runId, run, reads);
      sendJson(res, 200, this.runLog(runId, run));
    } else if (method === 'GET' && what === '/status') {
      sendJson(res, 200, { run_id: runId, state: run.state });
      // Toil ends a cancelled run shortly after: the next look sees it cancelled.
      if (run.state === 'CANCELING') run.state = 'CANCELED';
    } else if (method === 'POST' && what === '/cancel') {
      if (run.state === 'EXECUTOR_ERROR' || run.state === 'SYSTEM_ERROR') {
        sendError(res, 403, `Run ${runId} has already failed and cannot be canceled.`);
        return;
      }
      if (run.state !== 'COMPLETE' && run.state !== 'CANCELED') run.state = 'CANCELING';
      sendJson(res, 200, { run_id: runId });
    } else {
      sendError(res, 405, 'The method is not allowed for the requested URL.');
    }
  }

  private list(res: ServerResponse, token: string): void {
    const all = [...this.runs].map(([run_id, run]) => ({ run_id, state: run.state }));
    if ((this.options.listStyle ?? 'toil') === 'toil') {
      sendJson(res, 200, { workflows: all, next_page_token: '' });
      return;
    }
    if (this.options.listStyle === 'stuck') {
      sendJson(res, 200, { runs: all, next_page_token: 'same-again' });
      return;
    }
    const size = this.options.pageSize ?? 100;
    const from = token === '' ? 0 : Number(token);
    const next = from + size < all.length ? String(from + size) : '';
    sendJson(res, 200, { runs: all.slice(from, from + size), next_page_token: next });
  }

  private async create(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const request = new Request('http://wes.invalid/runs', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body,
    });
    // Deprecated for servers handling large uploads; this one only gets a few small files.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const form = await request.formData();
    const runId = `run-${this.nextId++}`;
    const tags = form.get('tags');
    this.runs.set(runId, {
      state: 'QUEUED',
      tags: typeof tags === 'string' ? (JSON.parse(tags) as unknown) : {},
      startTime: null,
    });
    this.created.push({ runId, form });
    sendJson(res, 200, { run_id: runId });
  }

  private runLog(runId: string, run: FakeRun): unknown {
    return {
      run_id: runId,
      request: {
        workflow_url: 'main.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.0',
        tags: run.tags,
      },
      state: run.state,
      run_log: {
        cmd: ['toil-cwl-runner', 'main.cwl', 'wes_inputs.json'],
        start_time: run.startTime ?? null,
        end_time: run.endTime ?? null,
        stdout: `../../../../toil/wes/v1/logs/${runId}/stdout`,
        stderr: `../../../../toil/wes/v1/logs/${runId}/stderr`,
        exit_code: run.exitCode ?? null,
      },
      task_logs: [],
      outputs: {},
    };
  }
}
