import type { ImageEvaluation } from '../templates/evaluation-file.js';

/**
 * What the evaluation lifecycle needs from a workflow engine, whatever runs the workflow.
 *
 * One implementation per backend (docker/ and wes/ beside this file), chosen in one place by the configured
 * mode (registry.ts), in the spirit of one interface with one folder per platform. Nothing here knows about
 * Synapse: the lifecycle passes plain values in.
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

/**
 * One workflow run, as the lifecycle prepared it: the job directory holds the template's files (in
 * `templateDir`), the job file and the credentials file. Each backend turns it into its own request (an
 * engine container; a WES run).
 */
export interface RunRequest {
  /** `workflow_job.<uuid>`: the WorkflowJobId annotation and the name the lifecycle knows the run by. */
  name: string;
  /** The job directory as this process sees it. */
  localDir: string;
  /** The job directory as the engine sees it (the same path on the engine's side). */
  hostDir: string;
  /** Where the template's files are, relative to the job directory ('' for the directory itself). */
  templateDir: string;
  /** The entry point (ROOT_TEMPLATE without a leading '/'), relative to `templateDir`. */
  rootTemplate: string;
  /** The job file (the workflow's inputs), relative to the job directory. */
  jobFile: string;
  /** The same inputs as an object: SWO's four plus `synapseConfig` (a CWL File at its engine-side path). */
  inputs: Record<string, unknown>;
  identity: JobIdentity;
  /**
   * Set for a Docker-image submission to a queue whose template is an evaluation file: the engine runs the
   * participant's image itself, locked down, then the scoring image (Docker mode only).
   */
  imageEvaluation?: { evaluation: ImageEvaluation; repository: string; digest: string };
}

/** What a run produced for the submission (Docker-image evaluations): scores and files to upload. */
export interface RunResults {
  /** Annotations for the submission, from the scorer's scores.json. */
  scores: Record<string, string | number | boolean>;
  /** Files (paths as this process sees them) for the admin-only folder and the submitter's folder. */
  uploads: { locked: string[]; shared: string[] };
}

/**
 * Raised by start() when the submission itself cannot run (its image cannot be pulled, is for another
 * architecture, names no digest…): the participant is told `reason`; nothing ran.
 */
export class SubmissionRejectedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SubmissionRejectedError';
  }
}

/** One engine container to start (Docker mode). Paths are host paths, seen by the container at the same place. */
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
      /**
       * Set when the engine itself ended the run, not the workflow (a WES server's SYSTEM_ERROR, a run
       * preempted or cancelled on the server): what happened, in words for the participant and the admin.
       */
      engineEnded?: string;
      /**
       * Set when the participant's own container failed in a way the engine tells apart (Docker-image
       * evaluations): the reason for the participant, and whether it was the time limit.
       */
      submissionFailure?: { reason: string; timedOut: boolean };
      /** The organizers' scorer gave no usable scores (a Docker-image evaluation): what is wrong, for the admin. */
      scoringProblem?: string;
      /** What the run produced, when it succeeded (Docker-image evaluations). */
      results?: RunResults;
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

/**
 * Lines of output already in the form of the orchestrator's log file (src/engine/log-format.ts), many at a
 * time: what following gigabytes of output is made of, without a string or an object per line.
 */
export interface LogBlock {
  /** The lines, each `<STDOUT|STDERR> <timestamp, or - when none> <text>\n`; empty when only counted. */
  bytes: Buffer;
  /** How many lines. */
  lines: number;
  /** The timestamp of the last line that has one, or ''. */
  lastTimestamp: string;
}

/** What logs() and logBlocks() read. */
export interface LogReadOptions {
  follow: boolean;
  since?: string;
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

/** The configured mode: DOCKER_ENGINE_URL or WES_ENDPOINT. */
export type EngineKind = 'docker' | 'wes';

/** Raised by an engine that does not answer (down, restarting, unreachable): the submission waits, not fails. */
export class EngineUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineUnavailableError';
  }
}

export interface WorkflowEngine {
  readonly kind: EngineKind;
  /** What the engine is, for logs and alerts: "the Docker engine", "the WES server at http://…". */
  readonly description: string;
  /**
   * Where the lifecycle puts the template's files in the job directory, relative to it: '' (the job
   * directory itself, as SWO did) for Docker; a subdirectory for WES, whose runs get those files attached.
   */
  readonly templateDir: string;
  /** Resolves when the engine answers; throws with what to fix when it does not. */
  ping(): Promise<void>;
  /** Docker only: where a named volume lives on the host (how the job directories' host path is found). */
  volumeMountpoint?(name: string): Promise<string | undefined>;
  /**
   * Starts the run; returns its name (request.name). Throws ImagePullError when the engine's image cannot
   * be had. Removes what it created if the start fails.
   */
  start(request: RunRequest): Promise<string>;
  state(name: string): Promise<JobState>;
  /** Starts a container that was created and never started (the orchestrator or the engine stopped between). */
  startCreated(name: string): Promise<void>;
  /** The workflow's progress in [0, 100] where the engine offers it (Docker: /progress.txt), or undefined. */
  progress(name: string): Promise<number | undefined>;
  /** Stops the run (Docker: grace period, then kill, and every step container it started; WES: cancel). */
  stop(name: string, graceSeconds?: number): Promise<void>;
  /**
   * Removes what the engine keeps of the run (Docker: the container and every step container of the job,
   * found by bind mounts under jobDir; WES cannot delete runs, so it only forgets them). Idempotent.
   */
  remove(name: string, jobDir: string | undefined): Promise<void>;
  /** Jobs of this instance (Docker: by label; WES: by tag), running or not. */
  list(orchestratorId: string): Promise<EngineJob[]>;
  /**
   * The container's output, stdout and stderr, each line with Docker's RFC 3339 nano timestamp. With
   * `follow` the stream stays open until the container stops. `since` (a timestamp as found in the
   * output) skips lines up to and including it, so a restarted follower does not repeat lines.
   */
  logs(name: string, options: LogReadOptions): AsyncIterable<LogLine>;
  /**
   * Optional: the same lines as logs(), as blocks in the log file's form, for an engine whose output comes
   * as bytes (Docker). `countOnly`: the blocks carry no bytes, only how many lines. Returning early aborts
   * the read, as with logs(). Without it, the lines of logs() are formatted one by one (blocksOfLines).
   */
  logBlocks?(name: string, options: LogReadOptions & { countOnly?: boolean }): AsyncIterable<LogBlock>;
}
