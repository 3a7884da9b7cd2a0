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
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import type { Logger } from '../logging/logger.js';
import { redactText } from '../logging/redact.js';
import {
  ImagePullError,
  LABELS,
  type EngineJob,
  type JobSpec,
  type JobState,
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
  pullPolicy: PullPolicy;
  /** Default: 5 attempts, 2 s first delay, doubling, at most 30 s. */
  pull?: PullRetry;
  registryAuth: (image: string) => RegistryAuth | undefined;
  /** Default: json-file, 100m × 2. */
  logRotation?: { maxSize: string; maxFile: number };
  logger: Logger;
  /** For tests: a ready client (otherwise one is made from url and certPath). */
  docker?: Dockerode;
}

const DEFAULT_PULL: PullRetry = { attempts: 5, firstDelayMs: 2_000, maxDelayMs: 30_000 };
const DEFAULT_LOG_ROTATION = { maxSize: '100m', maxFile: 2 };
const DEFAULT_STOP_GRACE_SECONDS = 60;
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
    const policy = this.options.pullPolicy;
    if (policy === 'always' && !isPinned(image)) {
      await this.pullShared(image);
      return;
    }
    if (await this.imagePresent(image)) return;
    if (policy === 'never') {
      throw new ImagePullError(
        image,
        `Image ${image} is not on the Docker engine, and the pull policy 'never' forbids pulling it`,
      );
    }
    await this.pullShared(image);
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

  async start(spec: JobSpec): Promise<string> {
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
        return { kind: 'pending' };
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
