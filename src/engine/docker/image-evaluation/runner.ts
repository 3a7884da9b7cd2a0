/**
 * Docker-image submissions, run by the orchestrator itself (docs/docker-submissions.md): the participant's
 * image, pulled by digest only, runs locked down (no network, uid 65534, no new privileges, every
 * capability dropped, read-only root filesystem with a tmpfs /tmp, /input read-only, an empty /output, the
 * evaluation file's limits); once it succeeded, the organizers' scoring image runs on its output, just as
 * locked down, and writes scores.json. No Docker socket is in anyone's hands.
 *
 * The job is the participant's container, named like any job (`workflow_job.<uuid>`); the scorer is
 * `<job>.scoring`. Where a job stands is read from the containers and the job directory each time the
 * lifecycle asks, so a restart of the orchestrator loses nothing: state() moves the job on (time limit,
 * output checks, starting the scorer) and reports it ended, with the reason, once it has.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import type { Logger } from '../../../logging/logger.js';
import { redactText } from '../../../logging/redact.js';
import type { ContainerLimits, ImageEvaluation } from '../../../templates/evaluation-file.js';
import {
  ImagePullError,
  LABELS,
  SubmissionRejectedError,
  type JobState,
  type LogReadOptions,
  type RunRequest,
} from '../../interfaces.js';
import { reasonOf, statusOf } from '../errors.js';
import type { ImagePuller } from '../pulls.js';
import { exists, sandboxWritable, sizeOf, uploadsOf } from './output-files.js';
import {
  OUTPUT_EXCEEDED_MARK,
  TIMED_OUT_MARK,
  readScores,
  scoringFailure,
  submissionFailure,
} from './verdicts.js';

/** Labels of the containers of a Docker-image evaluation, besides the usual ones. */
export const EVALUATION_LABELS = {
  kind: 'org.synapse-orchestrator.kind',
  job: 'org.synapse-orchestrator.job',
  phase: 'org.synapse-orchestrator.phase',
  localDir: 'org.synapse-orchestrator.job-dir-local',
} as const;
export const IMAGE_EVALUATION_KIND = 'image-evaluation';

/** The user both containers run as: nobody, never root. */
const SANDBOX_USER = '65534:65534';
const STATE_FILE = 'image-evaluation.json';

interface EvaluationRecord {
  evaluation: ImageEvaluation;
  image: string;
  hostDir: string;
}

type Phase = 'submission' | 'scoring';

export const scorerName = (job: string) => `${job}.scoring`;

export interface ImageEvaluationOptions {
  docker: Dockerode;
  /** Pulls when missing (a digest never changes), with the configured registry credentials. */
  images: ImagePuller;
  logger: Logger;
  logRotation: { maxSize: string; maxFile: number };
}

export class ImageEvaluations {
  constructor(private readonly options: ImageEvaluationOptions) {}

  /** Pulls the participant's image by digest, checks it, and starts it. Nothing runs when a check fails. */
  async start(request: RunRequest, evaluation: RequiredEvaluation): Promise<string> {
    const { docker } = this.options;
    const image = `${evaluation.repository}@${evaluation.digest}`;
    if (!/^sha256:[0-9a-f]{64}$/.test(evaluation.digest)) {
      throw new SubmissionRejectedError(
        `The submission's image digest ${evaluation.digest} is not a sha256 digest; submit the image again with its digest.`,
      );
    }
    try {
      await this.options.images.ensureImage(image);
    } catch (error) {
      const why = error instanceof ImagePullError ? error.message : reasonOf(error);
      throw new SubmissionRejectedError(`Your image ${image} could not be pulled: ${redactText(why)}`);
    }
    const info = await docker.getImage(image).inspect();
    // A digest is the image's identity; an image known locally under that name must carry exactly it.
    const digests = info.RepoDigests;
    if (!digests.some((entry) => entry.endsWith(`@${evaluation.digest}`))) {
      throw new SubmissionRejectedError(
        `The image pulled for ${image} does not carry the digest ${evaluation.digest} (it has ${digests.join(', ') || 'none'}); nothing was run.`,
      );
    }
    const engine = (await docker.version()) as { Arch?: string; Os?: string };
    if (engine.Arch !== undefined && info.Architecture !== engine.Arch) {
      throw new SubmissionRejectedError(
        `Your image is built for ${info.Os}/${info.Architecture}, but the evaluation runs on ${engine.Os ?? 'linux'}/${engine.Arch}; build it for ${engine.Os ?? 'linux'}/${engine.Arch} and submit again.`,
      );
    }

    const record: EvaluationRecord = { evaluation: evaluation.evaluation, image, hostDir: request.hostDir };
    await writeFile(join(request.localDir, STATE_FILE), JSON.stringify(record), { mode: 0o600 });
    for (const dir of ['output', 'scoring']) await sandboxWritable(join(request.localDir, dir));

    const sub = evaluation.evaluation.submission;
    const binds = [`${join(request.hostDir, 'output')}:/output:rw`];
    if (evaluation.evaluation.input !== undefined) binds.push(`${evaluation.evaluation.input}:/input:ro`);
    await this.create(request.name, 'submission', image, sub.command, sub, binds, request);
    return request.name;
  }

  /** Where the job stands, moving it on: the time limit, the output checks, the scorer. */
  async state(name: string, info: Dockerode.ContainerInspectInfo): Promise<JobState> {
    const localDir = info.Config.Labels[EVALUATION_LABELS.localDir] ?? '';
    const record = await readRecord(localDir);
    const sub = record.evaluation.submission;
    let own = await this.phaseState(name, info, sub.timeSeconds, localDir);
    if (own.kind === 'running' && (await sizeOf(join(localDir, 'output'))).bytes > sub.outputBytes) {
      // /output is on the host's disk: a container writing past its limit is stopped at the next look.
      await writeFile(join(localDir, OUTPUT_EXCEEDED_MARK), new Date().toISOString());
      await this.kill(name);
      this.options.logger.info('stopped a container writing past its output limit', { container: name });
      own = await this.phaseState(
        name,
        await this.options.docker.getContainer(name).inspect(),
        sub.timeSeconds,
        localDir,
        false,
      );
    }
    if (own.kind !== 'exited') return own;
    const failure = await submissionFailure(own, localDir, record.evaluation);
    if (failure !== undefined) return { ...own, exitCode: own.exitCode || 1, submissionFailure: failure };
    const scoring = record.evaluation.scoring;
    if (scoring === undefined) {
      return {
        ...own,
        exitCode: 0,
        results: { scores: {}, uploads: await uploadsOf(localDir, record.evaluation) },
      };
    }

    let scorer: Dockerode.ContainerInspectInfo;
    try {
      scorer = await this.options.docker.getContainer(scorerName(name)).inspect();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      await this.startScorer(name, info, record);
      return { kind: 'running', startedAt: undefined };
    }
    const scored = await this.phaseState(scorerName(name), scorer, scoring.timeSeconds, localDir);
    if (scored.kind !== 'exited')
      return scored.kind === 'pending' ? { kind: 'running', startedAt: undefined } : scored;
    const scorerFailure = scoringFailure(scored, scoring);
    if (scorerFailure !== undefined) {
      return { ...scored, exitCode: scored.exitCode || 1, submissionFailure: scorerFailure };
    }
    const scores = await readScores(localDir);
    if (typeof scores === 'string') return { ...scored, exitCode: 1, scoringProblem: scores };
    return {
      ...scored,
      exitCode: 0,
      results: { scores, uploads: await uploadsOf(localDir, record.evaluation) },
    };
  }

  /**
   * The participant's output, then the scorer's: one stream, in order (the scorer starts after). `read`:
   * containerLogs (lines) or containerLogBlocks (blocks).
   */
  async *logs<T, O extends LogReadOptions>(
    name: string,
    info: Dockerode.ContainerInspectInfo,
    options: O,
    read: (docker: Dockerode, logger: Logger, name: string, options: O) => AsyncIterable<T>,
  ): AsyncIterable<T> {
    const { docker, logger } = this.options;
    yield* read(docker, logger, name, options);
    const localDir = info.Config.Labels[EVALUATION_LABELS.localDir] ?? '';
    for (;;) {
      try {
        await docker.getContainer(scorerName(name)).inspect();
        break;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      if (!options.follow) return;
      // Is a scorer coming? Only for a submission that ended well; decided as state() decides it.
      const record = await readRecord(localDir).catch(() => undefined);
      const own = await docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined);
      if (record?.evaluation.scoring === undefined || own === undefined) return;
      const ended = await this.phaseState(
        name,
        own,
        record.evaluation.submission.timeSeconds,
        localDir,
        false,
      );
      if (
        ended.kind === 'exited' &&
        (await submissionFailure(ended, localDir, record.evaluation)) !== undefined
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    yield* read(docker, logger, scorerName(name), options);
  }

  /** A container's state; one running past its limit is killed here and marked as timed out. */
  private async phaseState(
    name: string,
    info: Dockerode.ContainerInspectInfo,
    limitSeconds: number,
    localDir: string,
    enforce = true,
  ): Promise<JobState> {
    const state = info.State;
    if (state.Status === 'running') {
      const started = Date.parse(state.StartedAt);
      if (enforce && Number.isFinite(started) && Date.now() - started > limitSeconds * 1000) {
        await writeFile(join(localDir, `${TIMED_OUT_MARK}-${name}`), new Date().toISOString());
        await this.kill(name);
        this.options.logger.info('stopped a container at its time limit', { container: name, limitSeconds });
        const after = await this.options.docker.getContainer(name).inspect();
        return this.phaseState(name, after, limitSeconds, localDir, false);
      }
      return { kind: 'running', startedAt: new Date(started) };
    }
    if (state.Status === 'created') return { kind: 'pending', neverStarted: true };
    if (state.Status !== 'exited' && state.Status !== 'dead') return { kind: 'pending', neverStarted: false };
    const timedOut = await exists(join(localDir, `${TIMED_OUT_MARK}-${name}`));
    return {
      kind: 'exited',
      exitCode: state.ExitCode,
      oomKilled: state.OOMKilled,
      finishedAt: new Date(state.FinishedAt),
      ...(timedOut ? { submissionFailure: { reason: '', timedOut: true } } : {}),
    };
  }

  private async kill(name: string): Promise<void> {
    await this.options.docker
      .getContainer(name)
      .kill()
      .catch((error: unknown) => {
        if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
      });
  }

  private async startScorer(
    name: string,
    info: Dockerode.ContainerInspectInfo,
    record: EvaluationRecord,
  ): Promise<void> {
    const scoring = record.evaluation.scoring;
    if (scoring === undefined) return;
    await this.options.images.ensureImage(scoring.image);
    const labels = info.Config.Labels;
    const binds = [
      `${join(record.hostDir, 'output')}:/output:ro`,
      `${join(record.hostDir, 'scoring')}:/scoring:rw`,
    ];
    if (record.evaluation.input !== undefined) binds.push(`${record.evaluation.input}:/input:ro`);
    if (scoring.gold !== undefined) binds.push(`${scoring.gold}:/gold:ro`);
    await this.create(scorerName(name), 'scoring', scoring.image, scoring.command, scoring, binds, {
      name,
      hostDir: record.hostDir,
      localDir: labels[EVALUATION_LABELS.localDir] ?? '',
      identity: {
        orchestratorId: labels[LABELS.orchestratorId] ?? '',
        submissionId: labels[LABELS.submissionId] ?? '',
        evaluationId: labels[LABELS.evaluationId] ?? '',
      },
    });
  }

  private async create(
    containerName: string,
    phase: Phase,
    image: string,
    command: string[] | undefined,
    limits: ContainerLimits & { scratchBytes: number },
    binds: string[],
    job: Pick<RunRequest, 'name' | 'hostDir' | 'localDir' | 'identity'>,
  ): Promise<void> {
    const { docker, logRotation } = this.options;
    const hostConfig: Dockerode.HostConfig = {
      Binds: binds,
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.scratchBytes},mode=1777` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': logRotation.maxSize, 'max-file': String(logRotation.maxFile) },
      },
    };
    if (limits.gpus !== 0) {
      hostConfig.DeviceRequests = [
        { Driver: 'nvidia', Count: limits.gpus === 'all' ? -1 : limits.gpus, Capabilities: [['gpu']] },
      ];
    }
    const container = await docker.createContainer({
      name: containerName,
      Image: image,
      ...(command === undefined ? {} : { Entrypoint: command, Cmd: [] }),
      User: SANDBOX_USER,
      Env: ['HOME=/tmp', 'TMPDIR=/tmp'],
      NetworkDisabled: true,
      Labels: {
        [LABELS.orchestratorId]: job.identity.orchestratorId,
        [LABELS.submissionId]: job.identity.submissionId,
        [LABELS.evaluationId]: job.identity.evaluationId,
        [LABELS.jobDir]: job.hostDir,
        [EVALUATION_LABELS.kind]: IMAGE_EVALUATION_KIND,
        [EVALUATION_LABELS.job]: job.name,
        [EVALUATION_LABELS.phase]: phase,
        [EVALUATION_LABELS.localDir]: job.localDir,
      },
      HostConfig: hostConfig,
    });
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw new Error(
        `Could not start the ${phase} container ${containerName} (${image}): ${redactText(reasonOf(error))}`,
      );
    }
    this.options.logger.info(`started the ${phase} container`, {
      container: containerName,
      image,
      submissionId: job.identity.submissionId,
    });
  }
}

export interface RequiredEvaluation {
  evaluation: ImageEvaluation;
  repository: string;
  digest: string;
}

async function readRecord(localDir: string): Promise<EvaluationRecord> {
  return JSON.parse(await readFile(join(localDir, STATE_FILE), 'utf8')) as EvaluationRecord;
}
