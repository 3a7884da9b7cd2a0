/**
 * The Docker backend: each workflow runs in an "engine" container (toil-cwl-runner or cwltool) on a Docker
 * engine, which starts the workflow's steps as sibling containers through the mounted socket.
 *
 * What differs from SWO on purpose: containers carry labels naming this instance and the submission, so
 * instances sharing a host leave each other alone; the image is pulled per policy, not on every job; the
 * OOMKilled flag is reported; step containers are swept when a job is stopped or removed (Docker does not
 * stop them when their engine container dies).
 *
 * This file is the engine itself; beside it: client.ts (the Dockerode client), pulls.ts (the engine image,
 * per policy), progress.ts (/progress.txt), logs.ts and log-decoder.ts (the container's output as lines),
 * step-containers.ts (the sweep), command.ts (what the engine container runs), errors.ts (Dockerode's
 * errors), and, for the image references of `validate` and `submit`, registry-auth.ts and image-digest.ts.
 */
import Dockerode from 'dockerode';
import type { EngineCommand } from '../../config/config.js';
import type { Logger } from '../../logging/logger.js';
import { redactText } from '../../logging/redact.js';
import {
  LABELS,
  type EngineJob,
  type JobSpec,
  type RunRequest,
  type JobState,
  type LogBlock,
  type LogLine,
  type LogReadOptions,
  type PullPolicy,
  type WorkflowEngine,
} from '../interfaces.js';
import { createDockerClient } from './client.js';
import { engineCommand } from './command.js';
import { reasonOf, statusOf } from './errors.js';
import { containerLogBlocks, containerLogs } from './logs.js';
import { EVALUATION_LABELS, IMAGE_EVALUATION_KIND, ImageEvaluations } from './image-evaluation/runner.js';
import { readProgress } from './progress.js';
import { ImagePuller, type ImageObserver, type PullRetry } from './pulls.js';
import type { RegistryAuth } from './registry-auth.js';
import { removeStepContainers } from './step-containers.js';

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

function parseDate(value: string | undefined): Date | undefined {
  // Docker writes the zero time for "never".
  if (value === undefined || value === '' || value.startsWith('0001-')) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export class DockerEngine implements WorkflowEngine {
  readonly kind = 'docker' as const;
  readonly description = 'the Docker engine';
  /** The template's files go in the job directory itself, as SWO put them. */
  readonly templateDir = '';
  readonly docker: Dockerode;
  private readonly options: DockerEngineOptions;
  private readonly logger: Logger;
  private readonly images: ImagePuller;
  /** Docker-image submissions, run locked down by the orchestrator itself. */
  private readonly evaluations: ImageEvaluations;

  constructor(options: DockerEngineOptions) {
    this.options = options;
    this.logger = options.logger;
    this.docker = options.docker ?? createDockerClient(options.url, options.certPath);
    this.images = new ImagePuller({
      docker: this.docker,
      url: options.url,
      pullPolicy: options.pullPolicy,
      ...(options.pull === undefined ? {} : { pull: options.pull }),
      registryAuth: options.registryAuth,
      logger: options.logger,
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.evaluations = new ImageEvaluations({
      docker: this.docker,
      // Submitted images are pinned by digest: pulled when missing, whatever the engine image's policy.
      images: new ImagePuller({
        docker: this.docker,
        url: options.url,
        pullPolicy: 'missing',
        ...(options.pull === undefined ? {} : { pull: options.pull }),
        registryAuth: options.registryAuth,
        logger: options.logger,
      }),
      logger: options.logger,
      logRotation: options.logRotation ?? DEFAULT_LOG_ROTATION,
    });
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

  /** Has the image on the engine as the pull policy says (pulls.ts); throws ImagePullError when it cannot. */
  async ensureImage(image: string): Promise<void> {
    await this.images.ensureImage(image);
  }

  /** Pulls the engine image as the policy says, then starts the engine container running the workflow. */
  async start(request: RunRequest): Promise<string> {
    if (request.imageEvaluation !== undefined) {
      return this.evaluations.start(request, request.imageEvaluation);
    }
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
    if (isImageEvaluation(info.Config.Labels)) return this.evaluations.state(name, info);
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
      // Nothing is run inside a participant's sandboxed container: Docker-image evaluations have no progress.
      const info = await this.docker.getContainer(name).inspect();
      if (isImageEvaluation(info.Config.Labels)) return undefined;
      return await readProgress(this.docker, name);
    } catch (error) {
      this.logger.debug('no progress read', { container: name, reason: reasonOf(error) });
      return undefined;
    }
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
    if (jobDir !== undefined) await removeStepContainers(this.docker, this.logger, name, jobDir);
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
    if (dir !== undefined) await removeStepContainers(this.docker, this.logger, name, dir);
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
    // A Docker-image evaluation's scorer belongs to its job: the job runs while either container does.
    const scoring = new Map<string, boolean>();
    for (const info of containers) {
      const job = info.Labels[EVALUATION_LABELS.job];
      if (info.Labels[EVALUATION_LABELS.phase] === 'scoring' && job !== undefined) {
        scoring.set(job, info.State === 'running');
      }
    }
    return containers.flatMap((info) => {
      const labels = info.Labels;
      if (labels[EVALUATION_LABELS.phase] === 'scoring') return [];
      const name = (info.Names[0] ?? info.Id).replace(/^\//, '');
      return {
        name,
        identity: {
          orchestratorId: labels[LABELS.orchestratorId] ?? orchestratorId,
          submissionId: labels[LABELS.submissionId] ?? '',
          evaluationId: labels[LABELS.evaluationId] ?? '',
        },
        jobDir: labels[LABELS.jobDir],
        running: info.State === 'running' || scoring.get(name) === true,
      };
    });
  }

  async *logs(name: string, options: LogReadOptions): AsyncIterable<LogLine> {
    const evaluation = await this.imageEvaluationInfo(name);
    if (evaluation !== undefined) {
      yield* this.evaluations.logs(name, evaluation, options, containerLogs);
      return;
    }
    yield* containerLogs(this.docker, this.logger, name, options);
  }

  async *logBlocks(name: string, options: LogReadOptions & { countOnly?: boolean }): AsyncIterable<LogBlock> {
    const evaluation = await this.imageEvaluationInfo(name);
    if (evaluation !== undefined) {
      yield* this.evaluations.logs(name, evaluation, options, containerLogBlocks);
      return;
    }
    yield* containerLogBlocks(this.docker, this.logger, name, options);
  }

  /** The container's details when it runs a Docker-image evaluation (whose output the runner reads). */
  private async imageEvaluationInfo(name: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    const info = await this.docker
      .getContainer(name)
      .inspect()
      .catch(() => undefined);
    return info !== undefined && isImageEvaluation(info.Config.Labels) ? info : undefined;
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
}

function isImageEvaluation(labels: Record<string, string> | undefined): boolean {
  return labels?.[EVALUATION_LABELS.kind] === IMAGE_EVALUATION_KIND;
}
