/**
 * The Docker backend: each workflow runs in an "engine" container (toil-cwl-runner or cwltool) on a Docker
 * engine, which starts the workflow's steps as sibling containers through the mounted socket.
 *
 * What differs from SWO on purpose: containers carry labels naming this instance and the submission, so
 * instances sharing a host leave each other alone; the image is pulled per policy, not on every job; the
 * OOMKilled flag is reported; step containers are swept when a job is stopped or removed (Docker does not
 * stop them when their engine container dies).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import Dockerode from 'dockerode';
import type { EngineCommand } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { redactText } from '../logging/redact.js';
import { engineCommand } from './engine-command.js';
import {
  ImagePullError,
  LABELS,
  type EngineJob,
  type JobSpec,
  type RunRequest,
  type JobState,
  type LogLine,
  type PullPolicy,
  type WorkflowEngine,
} from './interfaces.js';
import type { RegistryAuth } from './registry-auth.js';

export interface PullRetry {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

export interface DockerEngineOptions {
  /** DOCKER_ENGINE_URL: unix:///var/run/docker.sock or tcp://host:port (also http:// or https://). */
  url: string;
  /** Directory with ca.pem, cert.pem and key.pem, used for tcp URLs when cert.pem and key.pem exist. */
  certPath?: string;
  /** Host directory of those certificates, bound read-only at /root/.docker in the engine container. */
  certPathOnHost?: string;
  privileged: boolean;
  rwVolumes: { hostPath: string; containerPath: string }[];
  /** Memory limit of the engine container; swap is not allowed on top of it. */
  memoryBytes?: number;
  nanoCpus?: number;
  /**
   * Most processes and threads in the engine container (Docker's PidsLimit), so a fork bomb fills its own
   * container and not the host's process table; default DEFAULT_PIDS_LIMIT, 0 for no limit. The workflow's
   * step containers are created by the engine through the Docker socket, so this cannot reach them.
   */
  pidsLimit?: number;
  pullPolicy: PullPolicy;
  /** Default: 5 attempts, 2 s first delay, doubling, at most 30 s. */
  pull?: PullRetry;
  registryAuth: (image: string) => RegistryAuth | undefined;
  /** Default: json-file, 1g × 2 (SWO's). */
  logRotation?: { maxSize: string; maxFile: number };
  logger: Logger;
  /** For tests: a ready client (otherwise one is made from url and certPath). */
  docker?: Dockerode;
  observer?: ImageObserver;
  /**
   * What start(request) runs: the engine image and the runner with its options (WORKFLOW_ENGINE_IMAGE,
   * WORKFLOW_ENGINE_COMMAND, TOIL_CLI_OPTIONS). Without it only startContainer can start anything.
   */
  workflow?: { image: string; runner: EngineCommand; runnerOptions: readonly string[] };
}

/** What happened when a job needed its engine image. */
export type ImageResult = 'pulled' | 'failed' | 'already_present' | 'not_allowed';

/** Told what became of each image a job needed (the daemon's metrics). */
export interface ImageObserver {
  image(result: ImageResult, pullSeconds?: number): void;
}

const DEFAULT_PULL: PullRetry = { attempts: 5, firstDelayMs: 2_000, maxDelayMs: 30_000 };
// SWO's size. Docker's live log reader falls behind a burst, and a rotation while it is behind loses lines
// (seen on Engine 20.10 with 100m files: 23-54% of a 200 MiB burst), so files are large.
const DEFAULT_LOG_ROTATION = { maxSize: '1g', maxFile: 2 };
const DEFAULT_STOP_GRACE_SECONDS = 60;
/**
 * WORKFLOW_PIDS_LIMIT's default. cwltool with a step container and a JavaScript expression at once peaks at
 * about 33 tasks; toil needs about 20 per job it runs at once (a worker and the docker CLI's threads). Ten
 * workflows bombing at once (MAX_CONCURRENT_WORKFLOWS' default) still leave most of a 32768-pid host.
 */
export const DEFAULT_PIDS_LIMIT = 1024;
const PING_TIMEOUT_MS = 10_000;
const PROGRESS_TIMEOUT_MS = 15_000;
/** More than enough for a number; a runaway /progress.txt is cut here instead of read whole. */
const PROGRESS_OUTPUT_CAP = 64 * 1024;
/** Pull failures that another attempt cannot fix. */
const PERMANENT_PULL_FAILURE =
  /manifest unknown|not found|no such image|no space left on device|unauthorized|denied|authentication required|invalid reference format/i;

/** A Dockerode client for DOCKER_ENGINE_URL. TLS is used for https URLs, and for tcp ones with certificates. */
export function createDockerClient(url: string, certPath?: string): Dockerode {
  const match = /^(unix|tcp|http|https):\/\/(.*)$/i.exec(url);
  const scheme = match?.[1]?.toLowerCase();
  const rest = match?.[2] ?? '';
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new Error(`Invalid Docker engine URL ${url}: expected unix:///path`);
    return new Dockerode({ socketPath: rest });
  }
  if (scheme === undefined) {
    throw new Error(`Invalid Docker engine URL ${url}: expected unix://, tcp://, http:// or https://`);
  }
  let parsed: URL;
  try {
    parsed = new URL(`http://${rest}`);
  } catch {
    throw new Error(`Invalid Docker engine URL ${url}: cannot read the host and port`);
  }
  const tls = certPath === undefined ? undefined : readCertificates(certPath);
  const secure = scheme === 'https' || (scheme === 'tcp' && tls !== undefined);
  const port = parsed.port !== '' ? Number(parsed.port) : secure ? 2376 : 2375;
  return new Dockerode({
    host: parsed.hostname,
    port,
    protocol: secure ? 'https' : 'http',
    ...(secure ? tls : {}),
  });
}

/** cert.pem and key.pem (and ca.pem when present) from certPath; undefined when either is missing. */
function readCertificates(certPath: string): { ca?: Buffer; cert: Buffer; key: Buffer } | undefined {
  const read = (file: string): Buffer | undefined => {
    try {
      return readFileSync(join(certPath, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`Cannot read ${join(certPath, file)}: ${(error as Error).message}`);
    }
  };
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (cert === undefined || key === undefined) return undefined;
  const ca = read('ca.pem');
  return ca === undefined ? { cert, key } : { ca, cert, key };
}

/**
 * /progress.txt as SWO read it: drop STDOUT:/STDERR: markers, trim, keep 5 characters, parse, clamp to
 * [0, 100]. Anything that is not a number gives undefined.
 */
export function parseProgress(text: string): number | undefined {
  const value = Number.parseFloat(
    text
      .replace(/STDOUT:|STDERR:/g, '')
      .trim()
      .slice(0, 5),
  );
  if (Number.isNaN(value)) return undefined;
  return Math.min(100, Math.max(0, value));
}

/** The HTTP status of a Dockerode error, if it has one. */
function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Docker's own words from a Dockerode error, without the "(HTTP code …) …" wrapping. */
function reasonOf(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  if (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    return (json as { message: string }).message.trim();
  }
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(message);
  return (wrapped?.[1] ?? message).trim();
}

/** True for failures to reach the engine at all (no HTTP answer), as opposed to the engine saying no. */
function isConnectionError(error: unknown): boolean {
  return statusOf(error) === undefined && typeof (error as { code?: unknown } | null)?.code === 'string';
}

function parseDate(value: string | undefined): Date | undefined {
  // Docker writes the zero time for "never".
  if (value === undefined || value === '' || value.startsWith('0001-')) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** A pull error event in the progress stream, e.g. {"errorDetail":{"message":"…"},"error":"…"}. */
function streamError(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { error, errorDetail } = event as { error?: unknown; errorDetail?: { message?: unknown } };
  if (typeof errorDetail?.message === 'string') return errorDetail.message;
  return typeof error === 'string' ? error : undefined;
}

export class DockerEngine implements WorkflowEngine {
  readonly kind = 'docker' as const;
  readonly description = 'the Docker engine';
  /** The template's files go in the job directory itself, as SWO put them. */
  readonly templateDir = '';
  readonly docker: Dockerode;
  private readonly options: DockerEngineOptions;
  private readonly logger: Logger;
  private readonly pullRetry: PullRetry;
  /** Pulls in flight by image, so concurrent jobs on one image share a pull. */
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(options: DockerEngineOptions) {
    this.options = options;
    this.logger = options.logger;
    this.pullRetry = options.pull ?? DEFAULT_PULL;
    this.docker = options.docker ?? createDockerClient(options.url, options.certPath);
  }

  /** Resolves when the engine answers; otherwise rejects with an error naming the URL. */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`));
      }, PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.docker.ping(), timeout]);
    } catch (error) {
      throw new Error(`The Docker engine at ${this.options.url} does not answer: ${reasonOf(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The host directory of a named volume (SWO's same-path rule needs it), or undefined if there is none. */
  async volumeMountpoint(name: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getVolume(name).inspect();
      return info.Mountpoint;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new Error(`Cannot inspect the Docker volume ${name}: ${reasonOf(error)}`);
    }
  }

  async ensureImage(image: string): Promise<void> {
    const observer = this.options.observer;
    const policy = this.options.pullPolicy;
    if (policy === 'always' && !isPinned(image)) {
      await this.observedPull(image);
      return;
    }
    if (await this.imagePresent(image)) {
      observer?.image('already_present');
      return;
    }
    if (policy === 'never') {
      observer?.image('not_allowed');
      throw new ImagePullError(
        image,
        `Image ${image} is not on the Docker engine, and the pull policy 'never' forbids pulling it`,
      );
    }
    await this.observedPull(image);
  }

  /** A pull (shared with other jobs on the same image), its result told to the observer. */
  private async observedPull(image: string): Promise<void> {
    const began = Date.now();
    try {
      await this.pullShared(image);
    } catch (error) {
      this.options.observer?.image('failed', (Date.now() - began) / 1000);
      throw error;
    }
    this.options.observer?.image('pulled', (Date.now() - began) / 1000);
  }

  private async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw new Error(`Cannot inspect image ${image} on the Docker engine: ${reasonOf(error)}`);
    }
  }

  private async pullShared(image: string): Promise<void> {
    let pending = this.pulls.get(image);
    if (pending === undefined) {
      pending = this.pullWithRetry(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pending);
    }
    await pending;
  }

  private async pullWithRetry(image: string): Promise<void> {
    const auth = this.options.registryAuth(image);
    const { attempts, firstDelayMs, maxDelayMs } = this.pullRetry;
    const started = Date.now();
    let attempt = 0;
    let lastError: unknown;
    while (attempt < Math.max(1, attempts)) {
      attempt++;
      try {
        this.logger.info('pulling image', {
          image,
          attempt,
          withCredentials: auth !== undefined,
        });
        await this.pullOnce(image, auth);
        this.logger.info('pulled image', { image, seconds: (Date.now() - started) / 1000 });
        return;
      } catch (error) {
        lastError = error;
        const reason = this.cleanReason(reasonOf(error), auth);
        const permanent =
          PERMANENT_PULL_FAILURE.test(reason) || [400, 401, 403, 404].includes(statusOf(error) ?? 0);
        if (permanent || attempt >= attempts) break;
        const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
        this.logger.warn('image pull failed; will retry', { image, attempt, delayMs: delay, reason });
        await sleep(delay);
      }
    }
    const reason = this.cleanReason(reasonOf(lastError), auth);
    if (isConnectionError(lastError)) {
      throw new Error(
        `Could not pull image ${image}: the Docker engine at ${this.options.url} did not answer (${reason})`,
      );
    }
    throw new ImagePullError(
      image,
      `Could not pull image ${image} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${reason}`,
    );
  }

  /** One pull, followed to the end of its progress stream (an error can arrive in the stream). */
  private async pullOnce(image: string, auth: RegistryAuth | undefined): Promise<void> {
    const stream = await this.docker.pull(image, auth === undefined ? {} : { authconfig: { ...auth } });
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error, output: unknown[]) => {
        if (error !== null) {
          reject(error);
          return;
        }
        const failure = output.map(streamError).find((message) => message !== undefined);
        if (failure !== undefined) reject(new Error(failure));
        else resolve();
      });
    });
  }

  /** A reason fit for an error message: no credentials, whatever Docker echoed. */
  private cleanReason(reason: string, auth: RegistryAuth | undefined): string {
    let text = reason;
    if (auth !== undefined && auth.password !== '') text = text.split(auth.password).join('[REDACTED]');
    return redactText(text);
  }

  /** Pulls the engine image as the policy says, then starts the engine container running the workflow. */
  async start(request: RunRequest): Promise<string> {
    const workflow = this.options.workflow;
    if (workflow === undefined) throw new Error('DockerEngine: no engine image and command configured');
    await this.ensureImage(workflow.image);
    return this.startContainer({
      name: request.name,
      image: workflow.image,
      command: engineCommand(workflow.runner, workflow.runnerOptions, request),
      jobDir: request.hostDir,
      identity: request.identity,
    });
  }

  /** Creates and starts an engine container; returns its name. Removes what it created if start fails. */
  async startContainer(spec: JobSpec): Promise<string> {
    const { options } = this;
    const rotation = options.logRotation ?? DEFAULT_LOG_ROTATION;
    const binds: string[] = [];
    const socket = /^unix:\/\/(\/.*)$/i.exec(options.url)?.[1];
    if (socket !== undefined) binds.push(`${socket}:${socket}`);
    if (options.certPathOnHost !== undefined) binds.push(`${options.certPathOnHost}:/root/.docker:ro`);
    binds.push(`${spec.jobDir}:${spec.jobDir}`);
    for (const volume of options.rwVolumes) binds.push(`${volume.hostPath}:${volume.containerPath}:rw`);

    const env: Record<string, string> = {
      TMPDIR: spec.jobDir,
      TEMP: spec.jobDir,
      TMP: spec.jobDir,
      DOCKER_HOST: options.url,
    };
    // SWO mounted the certificates but never told the Docker client inside to use them.
    if (socket === undefined && options.certPathOnHost !== undefined) {
      env.DOCKER_TLS_VERIFY = '1';
      env.DOCKER_CERT_PATH = '/root/.docker';
    }
    Object.assign(env, spec.env);

    const hostConfig: Dockerode.HostConfig = {
      Binds: binds,
      SecurityOpt: ['no-new-privileges'],
      // toil warns about unreaped processes when it is PID 1.
      Init: true,
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': rotation.maxSize, 'max-file': String(rotation.maxFile) },
      },
    };
    if (options.privileged) hostConfig.Privileged = true;
    if (options.memoryBytes !== undefined) {
      hostConfig.Memory = options.memoryBytes;
      hostConfig.MemorySwap = options.memoryBytes;
    }
    if (options.nanoCpus !== undefined) hostConfig.NanoCpus = options.nanoCpus;
    const pidsLimit = options.pidsLimit ?? DEFAULT_PIDS_LIMIT;
    if (pidsLimit > 0) hostConfig.PidsLimit = pidsLimit;

    let container: Dockerode.Container;
    try {
      container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: spec.command,
        WorkingDir: spec.jobDir,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: {
          [LABELS.orchestratorId]: spec.identity.orchestratorId,
          [LABELS.submissionId]: spec.identity.submissionId,
          [LABELS.evaluationId]: spec.identity.evaluationId,
          [LABELS.jobDir]: spec.jobDir,
        },
        HostConfig: hostConfig,
      });
    } catch (error) {
      throw new Error(
        `Could not create engine container ${spec.name} from image ${spec.image}: ${redactText(reasonOf(error))}`,
      );
    }
    try {
      await container.start();
    } catch (error) {
      const reason = redactText(reasonOf(error));
      await container.remove({ force: true }).catch((removeError: unknown) => {
        this.logger.warn('could not remove an engine container that failed to start', {
          container: spec.name,
          reason: reasonOf(removeError),
        });
      });
      throw new Error(`Could not start engine container ${spec.name} (image ${spec.image}): ${reason}`);
    }
    this.logger.info('started engine container', {
      container: spec.name,
      image: spec.image,
      submissionId: spec.identity.submissionId,
    });
    return spec.name;
  }

  async state(name: string): Promise<JobState> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return { kind: 'missing' };
      throw new Error(`Cannot inspect engine container ${name}: ${reasonOf(error)}`);
    }
    const state = info.State;
    switch (state.Status) {
      case 'running':
        return { kind: 'running', startedAt: parseDate(state.StartedAt) };
      case 'exited':
      case 'dead':
      case 'removing':
        return {
          kind: 'exited',
          exitCode: state.ExitCode,
          oomKilled: state.OOMKilled,
          finishedAt: parseDate(state.FinishedAt),
        };
      default:
        // created, paused, restarting
        return { kind: 'pending', neverStarted: state.Status === 'created' };
    }
  }

  async progress(name: string): Promise<number | undefined> {
    try {
      const output = await this.execOutput(name, ['cat', '/progress.txt']);
      return output === undefined ? undefined : parseProgress(output);
    } catch (error) {
      this.logger.debug('no progress read', { container: name, reason: reasonOf(error) });
      return undefined;
    }
  }

  /** stdout of a command run in the container, or undefined when it fails or takes too long. */
  private async execOutput(name: string, command: string[]): Promise<string | undefined> {
    const exec = await this.docker.getContainer(name).exec({
      Cmd: command,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    let size = 0;
    stdout.on('data', (chunk: Buffer) => {
      if (size < PROGRESS_OUTPUT_CAP) chunks.push(chunk);
      size += chunk.length;
      if (size >= PROGRESS_OUTPUT_CAP) stream.destroy();
    });
    stderr.resume();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve(false);
      }, PROGRESS_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
    if (!finished) return undefined;
    const text = Buffer.concat(chunks).toString('utf8');
    if (size >= PROGRESS_OUTPUT_CAP) return text;
    const inspected = await exec.inspect();
    return inspected.ExitCode === 0 ? text : undefined;
  }

  async stop(name: string, graceSeconds = DEFAULT_STOP_GRACE_SECONDS): Promise<void> {
    const jobDir = await this.jobDirOf(name);
    try {
      await this.docker.getContainer(name).stop({ t: graceSeconds });
      this.logger.info('stopped engine container', { container: name, graceSeconds });
    } catch (error) {
      const status = statusOf(error);
      // 304: already stopped; 404: already gone.
      if (status !== 304 && status !== 404) {
        throw new Error(`Could not stop engine container ${name}: ${reasonOf(error)}`);
      }
    }
    if (jobDir !== undefined) await this.removeStepContainers(name, jobDir);
  }

  async startCreated(name: string): Promise<void> {
    // Right after an engine restart, a start that the restart interrupted can leave the engine's runtime
    // holding a task for the container ("task … already exists") while Docker still calls it created.
    // Seen in the chaos runs: that task is a runtime process left in its created state (the workflow never
    // ran) and Docker does not clear it, so after a second look (the container may have come up on its
    // own) the caller removes the container and the submission goes back to the queue.
    const attempts = 2;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        await this.docker.getContainer(name).start();
        return;
      } catch (error) {
        if (statusOf(error) === 304) return; // already started
        lastError = error;
      }
      await sleep(2000 * attempt);
      const state = await this.state(name);
      if (state.kind === 'running' || state.kind === 'exited') return;
      if (state.kind === 'missing') break;
      this.logger.warn('engine container did not start; trying again', {
        container: name,
        attempt,
        reason: reasonOf(lastError),
      });
    }
    throw new Error(`Cannot start engine container ${name}: ${reasonOf(lastError)}`);
  }

  async remove(name: string, jobDir: string | undefined): Promise<void> {
    const dir = jobDir ?? (await this.jobDirOf(name));
    if (dir !== undefined) await this.removeStepContainers(name, dir);
    try {
      await this.docker.getContainer(name).remove({ force: true });
      this.logger.info('removed engine container', { container: name });
    } catch (error) {
      const status = statusOf(error);
      // 409: Docker is already removing it.
      if (status !== 404 && status !== 409) {
        throw new Error(`Could not remove engine container ${name}: ${reasonOf(error)}`);
      }
    }
  }

  async list(orchestratorId: string): Promise<EngineJob[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.orchestratorId}=${orchestratorId}`] },
    });
    return containers.map((info) => {
      const labels = info.Labels;
      return {
        name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
        identity: {
          orchestratorId: labels[LABELS.orchestratorId] ?? orchestratorId,
          submissionId: labels[LABELS.submissionId] ?? '',
          evaluationId: labels[LABELS.evaluationId] ?? '',
        },
        jobDir: labels[LABELS.jobDir],
        running: info.State === 'running',
      };
    });
  }

  logs(name: string, options: { follow: boolean; since?: string }): AsyncIterable<LogLine> {
    return {
      [Symbol.asyncIterator]: () => {
        // Returning early (a follower stopping) aborts the request, so a quiet container cannot hold it up.
        const controller = new AbortController();
        const lines = this.readLogs(name, options, controller.signal);
        return {
          next: () => lines.next(),
          return: async () => {
            controller.abort();
            return lines.return();
          },
        };
      },
    };
  }

  /** The output as lines, one HTTP chunk at a time; the next chunk is read once the consumer took these. */
  private async *readLogs(
    name: string,
    options: { follow: boolean; since?: string },
    signal: AbortSignal,
  ): AsyncGenerator<LogLine, void, undefined> {
    const since = options.since === undefined || options.since === '' ? undefined : options.since;
    const sinceParam = since === undefined ? undefined : unixTimestampOf(since);
    if (since !== undefined && sinceParam === undefined) {
      throw new Error(`Cannot read the output of ${name} since '${since}': not an RFC 3339 timestamp`);
    }
    let tty: boolean;
    try {
      tty = (await this.docker.getContainer(name).inspect({ abortSignal: signal })).Config.Tty;
    } catch (error) {
      if (statusOf(error) === 404 || signal.aborted) return;
      throw new Error(`Cannot inspect engine container ${name}: ${reasonOf(error)}`);
    }
    let stream: Readable;
    try {
      stream = await this.openLogStream(name, options.follow, sinceParam, signal);
    } catch (error) {
      if (statusOf(error) === 404 || signal.aborted) return;
      throw new Error(`Cannot read the output of engine container ${name}: ${reasonOf(error)}`);
    }
    const decoder = new DockerLogDecoder(!tty);
    // Each stream's timestamps only go up. Docker 20.10 breaks that when its json log rotates while a
    // follower lags: it sends a file's lines again. Those repeats are dropped here.
    const latest: Record<LogLine['stream'], string> = { stdout: since ?? '', stderr: since ?? '' };
    let repeated = 0;
    const wanted = (line: LogLine): boolean => {
      if (line.timestamp === '') return true;
      const before = latest[line.stream];
      if (before !== '' && !timestampAfter(line.timestamp, before)) {
        if (since === undefined || timestampAfter(line.timestamp, since)) repeated++;
        return false;
      }
      latest[line.stream] = line.timestamp;
      return true;
    };
    try {
      for await (const chunk of stream) {
        for (const line of decoder.push(chunk as Buffer)) if (wanted(line)) yield line;
      }
      for (const line of decoder.end()) if (wanted(line)) yield line;
    } catch (error) {
      if (signal.aborted) return;
      throw new Error(`The output of engine container ${name} broke off: ${reasonOf(error)}`);
    } finally {
      stream.destroy();
      if (repeated > 0) {
        this.logger.warn('Docker sent lines of the output again (its log rotation); dropped them', {
          container: name,
          lines: repeated,
          hint: 'lines before the repeats may be missing; a larger log rotation size avoids this',
        });
      }
    }
  }

  /**
   * GET /containers/{name}/logs as a stream. Dockerode's own logs() buffers the whole answer unless it
   * follows, which for a large finished log would mean all of it in memory.
   */
  private async openLogStream(
    name: string,
    follow: boolean,
    since: string | undefined,
    signal: AbortSignal,
  ): Promise<Readable> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(name)}/logs?`,
          method: 'GET',
          isStream: true,
          abortSignal: signal,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options: {
            follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            ...(since === undefined ? {} : { since }),
          },
        },
        (error, result) => {
          if (error !== null) reject(error);
          else resolve(result as Readable);
        },
      );
    });
  }

  /** The job directory recorded on the engine container, or undefined when it is gone or unlabelled. */
  private async jobDirOf(name: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getContainer(name).inspect();
      return info.Config.Labels[LABELS.jobDir];
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new Error(`Cannot inspect engine container ${name}: ${reasonOf(error)}`);
    }
  }

  /**
   * Force-removes the containers the workflow started: Docker knows them only as containers with a bind
   * mount from inside the job directory (the steps are unlabelled siblings).
   */
  private async removeStepContainers(engineName: string, jobDir: string): Promise<void> {
    const dir = normalize(jobDir).replace(/\/+$/, '');
    // A sweep under "/" or a relative path would hit unrelated containers.
    if (!isAbsolute(dir) || dir === '') {
      this.logger.warn('not looking for step containers: unsafe job directory', {
        container: engineName,
        jobDir,
      });
      return;
    }
    const containers = await this.docker.listContainers({ all: true });
    const steps = containers.filter((info) => {
      if (info.Names.includes(`/${engineName}`)) return false;
      // Another job's engine container is never a step of this one.
      const otherJobDir = info.Labels[LABELS.jobDir];
      if (otherJobDir !== undefined && otherJobDir !== jobDir) return false;
      return info.Mounts.some(
        (mount) => mount.Type === 'bind' && (mount.Source === dir || mount.Source.startsWith(`${dir}/`)),
      );
    });
    await Promise.all(
      steps.map(async (info) => {
        const stepName = (info.Names[0] ?? info.Id).replace(/^\//, '');
        try {
          await this.docker.getContainer(info.Id).remove({ force: true });
          this.logger.info('removed step container', { container: stepName, engineContainer: engineName });
        } catch (error) {
          const status = statusOf(error);
          if (status !== 404 && status !== 409) {
            throw new Error(
              `Could not remove step container ${stepName} of ${engineName}: ${reasonOf(error)}`,
            );
          }
        }
      }),
    );
  }
}

/** An image ID or a reference pinned by digest: pulling again cannot change it. */
function isPinned(image: string): boolean {
  return image.startsWith('sha256:') || image.includes('@sha256:');
}

/** A longer line is cut into pieces of about this size, so that one runaway line cannot fill memory. */
export const MAX_LOG_LINE_BYTES = 1024 * 1024;
/** Docker's line timestamp (RFC 3339, up to nanoseconds), e.g. 2026-11-21T19:52:22.697409123Z. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;
/** The longest such timestamp, with a zone offset: 2006-01-02T15:04:05.000000000+07:00. */
const MAX_TIMESTAMP_LENGTH = 35;
const NEWLINE = 0x0a;
const SPACE = 0x20;

/** Nanoseconds since the epoch of an RFC 3339 timestamp, or undefined if it is not one. */
function nanosOf(timestamp: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Docker's `since` form of a timestamp: unix seconds and nine digits of fraction, "1732200000.123456789". */
export function unixTimestampOf(timestamp: string): string | undefined {
  const nanos = nanosOf(timestamp);
  if (nanos === undefined) return undefined;
  const seconds = nanos / 1_000_000_000n;
  const fraction = nanos % 1_000_000_000n;
  return `${seconds}.${fraction.toString().padStart(9, '0')}`;
}

/** True when `timestamp` is later than `since`; a line without a readable timestamp is kept. */
export function timestampAfter(timestamp: string, since: string): boolean {
  // Docker's own form (UTC, nine fraction digits) compares as text, which is cheap for millions of lines.
  if (timestamp.length === 30 && since.length === 30 && timestamp.endsWith('Z') && since.endsWith('Z')) {
    return timestamp > since;
  }
  const a = nanosOf(timestamp);
  const b = nanosOf(since);
  return a === undefined || b === undefined || a > b;
}

/** One stream's unfinished line. */
interface PartialLine {
  pieces: Buffer[];
  length: number;
  /** The rest of a line cut at MAX_LOG_LINE_BYTES: it has no timestamp of its own. */
  continued: boolean;
  /** When the line began, to put unfinished lines in order at the end. */
  order: number;
}

function emptyLine(): PartialLine {
  return { pieces: [], length: 0, continued: false, order: 0 };
}

/** The "<timestamp> " at the start of `bytes`, or undefined. */
function leadingTimestamp(bytes: Buffer): string | undefined {
  const space = bytes.subarray(0, MAX_TIMESTAMP_LENGTH + 1).indexOf(SPACE);
  if (space <= 0) return undefined;
  const timestamp = bytes.toString('latin1', 0, space);
  return TIMESTAMP.test(timestamp) ? timestamp : undefined;
}

/**
 * Turns the bytes of GET /containers/{id}/logs (timestamps on) into lines, whatever the chunk boundaries.
 *
 * Without a TTY the answer is a series of frames: an 8-byte header (stream type; 3 zero bytes; payload
 * length, big-endian) and the payload. Docker writes one log message per frame, each starting with
 * "<timestamp> ". A line longer than Docker's 16 KiB message size comes as several messages with the
 * same timestamp, so a line can span frames: a frame that continues an open line of its stream with the
 * same timestamp is joined to it, without its timestamp. (A different timestamp means the open line
 * ended without a newline.) Lines are split at "\n" per stream; a line still open when the output ends
 * comes out of end().
 */
export class DockerLogDecoder {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private frameLeft = 0;
  private frameStream: LogLine['stream'] = 'stdout';
  /** The start of a frame that may continue an open line, collected until its timestamp can be read. */
  private readonly prefix = Buffer.alloc(MAX_TIMESTAMP_LENGTH + 1);
  private prefixFill = 0;
  private prefixWanted = 0;
  private readonly partial: Record<LogLine['stream'], PartialLine> = {
    stdout: emptyLine(),
    stderr: emptyLine(),
  };
  private readonly lastTimestamp: Record<LogLine['stream'], string> = { stdout: '', stderr: '' };
  private lineCount = 0;

  /** `multiplexed`: false for a container with a TTY, whose output is one raw stream. */
  constructor(private readonly multiplexed = true) {}

  /** The lines completed by this chunk. */
  push(chunk: Buffer): LogLine[] {
    const lines: LogLine[] = [];
    if (!this.multiplexed) {
      this.take('stdout', chunk, 0, chunk.length, lines);
      return lines;
    }
    let pos = 0;
    while (pos < chunk.length) {
      if (this.frameLeft === 0) {
        const count = Math.min(8 - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + count);
        this.headerFill += count;
        pos += count;
        if (this.headerFill < 8) break;
        this.headerFill = 0;
        // 0 stdin, 1 stdout, 2 stderr, 3 an error from the daemon itself.
        const type = this.header[0];
        this.frameStream = type === 2 || type === 3 ? 'stderr' : 'stdout';
        this.frameLeft = this.header.readUInt32BE(4);
        const open = this.partial[this.frameStream].length > 0;
        this.prefixWanted = open ? Math.min(this.frameLeft, this.prefix.length) : 0;
        this.prefixFill = 0;
        continue;
      }
      if (this.prefixFill < this.prefixWanted) {
        const count = Math.min(this.prefixWanted - this.prefixFill, chunk.length - pos);
        chunk.copy(this.prefix, this.prefixFill, pos, pos + count);
        this.prefixFill += count;
        this.frameLeft -= count;
        pos += count;
        if (this.prefixFill === this.prefixWanted) this.continueOrEnd(lines);
        continue;
      }
      const count = Math.min(this.frameLeft, chunk.length - pos);
      this.take(this.frameStream, chunk, pos, pos + count, lines);
      this.frameLeft -= count;
      pos += count;
    }
    return lines;
  }

  /** The lines left open (no final newline), in the order they began. */
  end(): LogLine[] {
    const open = (['stdout', 'stderr'] as const)
      .filter((stream) => this.partial[stream].length > 0)
      .sort((a, b) => this.partial[a].order - this.partial[b].order);
    return open.map((stream) => this.finish(stream));
  }

  /** A frame began while its stream had an open line: join it (same timestamp) or end that line. */
  private continueOrEnd(lines: LogLine[]): void {
    const stream = this.frameStream;
    const prefix = Buffer.from(this.prefix.subarray(0, this.prefixFill));
    this.prefixWanted = 0;
    this.prefixFill = 0;
    const timestamp = leadingTimestamp(prefix);
    const line = this.partial[stream];
    const openTimestamp = line.continued ? this.lastTimestamp[stream] : leadingTimestamp(head(line));
    if (timestamp !== undefined && timestamp === openTimestamp) {
      this.take(stream, prefix, timestamp.length + 1, prefix.length, lines);
    } else {
      if (timestamp !== undefined) lines.push(this.finish(stream));
      this.take(stream, prefix, 0, prefix.length, lines);
    }
  }

  /** Bytes [start, end) of `chunk`, all from one frame of `stream`. */
  private take(stream: LogLine['stream'], chunk: Buffer, start: number, end: number, lines: LogLine[]): void {
    let from = start;
    while (from < end) {
      // Looked up each time: finishing a line replaces the stream's partial line.
      const line = this.partial[stream];
      const found = chunk.indexOf(NEWLINE, from);
      const stop = found === -1 || found >= end ? end : found;
      if (line.length === 0 && stop < end) {
        // The common case: a whole line within the chunk, no copy.
        this.lineCount++;
        lines.push(this.parse(stream, chunk, from, stop, false));
      } else {
        if (stop > from) {
          if (line.length === 0) line.order = ++this.lineCount;
          line.pieces.push(chunk.subarray(from, stop));
          line.length += stop - from;
        }
        if (stop < end) lines.push(this.finish(stream));
        else if (line.length > MAX_LOG_LINE_BYTES) lines.push(this.cut(stream));
      }
      from = stop + 1;
    }
  }

  /** Ends the stream's open line. */
  private finish(stream: LogLine['stream']): LogLine {
    const line = this.partial[stream];
    this.partial[stream] = emptyLine();
    const bytes = joined(line);
    return this.parse(stream, bytes, 0, bytes.length, line.continued);
  }

  /** Emits the first MAX_LOG_LINE_BYTES of an overlong open line (at a character boundary); keeps the rest. */
  private cut(stream: LogLine['stream']): LogLine {
    const line = this.partial[stream];
    const bytes = joined(line);
    let at = MAX_LOG_LINE_BYTES;
    // Back up over UTF-8 continuation bytes (10xxxxxx), so no character is split.
    for (let i = 0; i < 4 && at > 0 && ((bytes[at] ?? 0) & 0xc0) === 0x80; i++) at--;
    const rest = bytes.subarray(at);
    this.partial[stream] = {
      pieces: rest.length > 0 ? [Buffer.from(rest)] : [],
      length: rest.length,
      continued: true,
      order: line.order,
    };
    return this.parse(stream, bytes, 0, at, line.continued);
  }

  private parse(
    stream: LogLine['stream'],
    bytes: Buffer,
    start: number,
    end: number,
    continued: boolean,
  ): LogLine {
    if (!continued) {
      const timestamp = leadingTimestamp(bytes.subarray(start, end));
      if (timestamp !== undefined) {
        this.lastTimestamp[stream] = timestamp;
        return { stream, timestamp, text: bytes.toString('utf8', start + timestamp.length + 1, end) };
      }
    }
    // No timestamp of its own: the latest one of its stream.
    return { stream, timestamp: this.lastTimestamp[stream], text: bytes.toString('utf8', start, end) };
  }
}

/** The first bytes of an open line, enough for its timestamp. */
function head(line: PartialLine): Buffer {
  const wanted = MAX_TIMESTAMP_LENGTH + 1;
  const pieces: Buffer[] = [];
  let length = 0;
  for (const piece of line.pieces) {
    if (length >= wanted) break;
    pieces.push(piece);
    length += piece.length;
  }
  return Buffer.concat(pieces, length).subarray(0, wanted);
}

function joined(line: PartialLine): Buffer {
  const [only] = line.pieces;
  if (line.pieces.length === 1 && only !== undefined) return only;
  return Buffer.concat(line.pieces, line.length);
}
