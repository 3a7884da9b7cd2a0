/**
 * What the evaluation lifecycle needs from a workflow engine, whatever runs the workflow.
 *
 * One implementation per backend (docker.ts today; wes.ts later), in the spirit of one interface with
 * one folder per platform. Nothing here knows about Synapse: the lifecycle passes plain values in.
 */

/** Labels put on every engine container, so each instance finds its own jobs (and only its own). */
export const LABELS = {
  orchestratorId: 'org.synapse-orchestrator.instance',
  submissionId: 'org.synapse-orchestrator.submission',
  evaluationId: 'org.synapse-orchestrator.evaluation',
  jobDir: 'org.synapse-orchestrator.job-dir',
} as const;

/** Prefix of engine container names; SWO's listing looked for names starting with it. */
export const JOB_NAME_PREFIX = 'workflow_job.';

export interface JobIdentity {
  orchestratorId: string;
  submissionId: string;
  evaluationId: string;
}

/** One workflow run to start. Paths are host paths, which the engine container sees at the same place. */
export interface JobSpec {
  /** Container name, `workflow_job.<uuid>`; also the WorkflowJobId annotation. */
  name: string;
  image: string;
  /** The full command (list form, no shell), e.g. toil-cwl-runner … or cwltool …. */
  command: string[];
  /** The job directory (host path; mounted at the same path; the working directory). */
  jobDir: string;
  /** Extra environment on top of TMPDIR/TEMP/TMP (= jobDir) and DOCKER_HOST. */
  env?: Record<string, string>;
  identity: JobIdentity;
}

/** Why a container stopped, as far as the engine can tell. */
export type JobState =
  | { kind: 'running'; startedAt: Date | undefined }
  | {
      kind: 'exited';
      exitCode: number;
      /** Docker's own OOMKilled flag: the kernel killed it for memory, not a guess from exit 137. */
      oomKilled: boolean;
      finishedAt: Date | undefined;
    }
  /**
   * Paused or restarting (treated as running by the lifecycle), or created and never started
   * (`neverStarted`: the orchestrator stopped between creating and starting it).
   */
  | { kind: 'pending'; neverStarted: boolean }
  | { kind: 'missing' };

/** A job this instance owns, as listed from the engine. */
export interface EngineJob {
  name: string;
  identity: JobIdentity;
  jobDir: string | undefined;
  running: boolean;
}

export type { PullPolicy } from '../config/config.js';

/** One line of a container's output. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Docker's timestamp, e.g. 2026-11-21T19:52:22.697409123Z. */
  timestamp: string;
  /** The line without its newline. */
  text: string;
}

/** Raised when an image cannot be had; the message says which image and why (never a password). */
export class ImagePullError extends Error {
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImagePullError';
  }
}

export interface WorkflowEngine {
  /** Resolves when the engine answers; throws with what to fix when it does not. */
  ping(): Promise<void>;
  /** Makes sure `image` is present per the pull policy; throws ImagePullError. */
  ensureImage(image: string): Promise<void>;
  /** Creates and starts the engine container; returns its name. Removes what it created if start fails. */
  start(spec: JobSpec): Promise<string>;
  state(name: string): Promise<JobState>;
  /** Starts a container that was created and never started (the orchestrator or the engine stopped between). */
  startCreated(name: string): Promise<void>;
  /** The first 5 characters of /progress.txt as a number in [0, 100], or undefined. */
  progress(name: string): Promise<number | undefined>;
  /** Stops the container (grace period, then kill) and every step container it started. */
  stop(name: string, graceSeconds?: number): Promise<void>;
  /** Removes the container and every step container of the job (by bind mounts under jobDir). Idempotent. */
  remove(name: string, jobDir: string | undefined): Promise<void>;
  /** Jobs of this instance (by label), running or not. */
  list(orchestratorId: string): Promise<EngineJob[]>;
  /**
   * The container's output, stdout and stderr, each line with Docker's RFC 3339 nano timestamp. With
   * `follow` the stream stays open until the container stops. `since` (a timestamp as found in the
   * output) skips lines up to and including it, so a restarted follower does not repeat lines.
   */
  logs(name: string, options: { follow: boolean; since?: string }): AsyncIterable<LogLine>;
}
