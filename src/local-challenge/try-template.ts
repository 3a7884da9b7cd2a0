/**
 * `try`: one evaluation of a template on a throwaway local platform, with the organizer's own
 * configuration and the production orchestrator. What an organizer runs before launching a challenge.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { stageStatuses } from '../evaluation/stages.js';
import { UsageError } from '../organizer/errors.js';
import { exportFolderTree } from './export-folder-tree.js';
import { createDockerClient } from '../engine/docker/client.js';
import { localConfig, startLocalOrchestrator, type LocalOrchestrator } from './local-orchestrator.js';
import { ProgressBoard, type BoardOutput, type BoardRow } from './progress-board.js';
import { startReachablePlatform, type ReachablePlatform } from './reachable-platform.js';
import { allMessages, type ReceivedMessage } from './received-messages.js';
import { parseDataOptions } from './organizer-data.js';
import { clientAs, seedChallenge, type TemplateArchive } from './seed-challenge.js';
import { watchUntilFinished } from './watch.js';
import { zipDirectory } from './zip-directory.js';

export interface TryOptions {
  /** A directory, an archive file (zip, tar.gz, tar) or an http(s) URL. */
  template: string;
  rootTemplate: string;
  /** A file to submit… */
  submission?: string;
  /** …or a Docker image, repository@sha256:digest. */
  dockerImage?: string;
  /** `--data name=file` as given: the organizer's files, uploaded before the template. */
  data?: readonly string[];
  envFile?: string;
  /** Where everything goes (default: a new directory under the system temp dir). */
  outputDir?: string;
  timeoutSeconds: number;
  /** Where the live board is drawn (nothing when undefined). */
  progress?: BoardOutput;
  signal?: AbortSignal;
}

export interface TryResult {
  /** The organizer's `--data` files on the trial platform: name → synId (the same on every run). */
  data: Record<string, string>;
  /** The organizers team (the organizer is its member), for steps that share results with a team. */
  organizersTeamId: string;
  submissionId: string;
  status: string;
  succeeded: boolean;
  statusDescription: string | null;
  failureReason: string | null;
  /** What the workflow annotated on the submission (a score, …). */
  annotations: Record<string, string>;
  /** The log as a text file on disk, or null when the workflow printed nothing or never started. */
  logsPath: string | null;
  messages: { to: string[]; subject: string; body: string }[];
  /** Everything of this run: the platform's data, the work directory, the orchestrator's log. */
  outputDir: string;
  orchestratorLog: string;
  /** Set when the watch ended before the submission finished. */
  unfinished?: 'timed out' | 'interrupted';
}

/** The team `try` makes with the organizer as its only member. */
export const ORGANIZERS_TEAM = 'Template trial organizers';

async function templateArchive(template: string): Promise<TemplateArchive> {
  if (/^https?:\/\//i.test(template)) return { url: template };
  const path = resolve(template);
  if (!existsSync(path)) {
    throw new UsageError(
      `--template ${template}: no such file or directory (give a directory, an archive or a URL).`,
    );
  }
  if (statSync(path).isDirectory())
    return { bytes: await zipDirectory(path), fileName: `${basename(path)}.zip` };
  return { bytes: await readFile(path), fileName: basename(path) };
}

function dockerSubmission(image: string): { repositoryName: string; digest: string } {
  const match = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(image);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new UsageError(
      `--docker-image ${image}: give the image by digest, repository@sha256:<64 hex> (docker image inspect --format '{{index .RepoDigests 0}}' <image> shows it).`,
    );
  }
  return { repositoryName: match[1], digest: match[2] };
}

/** A throwaway run leaves nothing running behind: the engine container and its step containers go. */
async function removeJobs(orchestrator: LocalOrchestrator): Promise<void> {
  const engine = orchestrator.daemon.services.engine;
  const jobs = await engine.list(orchestrator.config.orchestratorId).catch(() => []);
  for (const job of jobs) {
    await engine.stop(job.name, 5).catch(() => undefined);
    await engine.remove(job.name, undefined).catch(() => undefined);
  }
}

export async function tryTemplate(options: TryOptions): Promise<TryResult> {
  if ((options.submission === undefined) === (options.dockerImage === undefined)) {
    throw new UsageError('Give exactly one of --submission <file> and --docker-image <repository@sha256:…>.');
  }
  if (
    options.submission !== undefined &&
    !statSync(options.submission, { throwIfNoEntry: false })?.isFile()
  ) {
    throw new UsageError(`--submission ${options.submission}: no such file.`);
  }
  const docker = options.dockerImage === undefined ? undefined : dockerSubmission(options.dockerImage);
  const data = parseDataOptions(options.data ?? []);
  const archive = await templateArchive(options.template);
  const outputDir = resolve(
    options.outputDir ?? (await mkdtemp(join(tmpdir(), 'synapse-orchestrator-try-'))),
  );
  const orchestratorLog = join(outputDir, 'orchestrator.log');
  const orchestratorId = `try-${createHash('sha256').update(outputDir).digest('hex').slice(0, 12)}`;
  const local = {
    workDir: join(outputDir, 'work'),
    orchestratorId,
    ...(options.envFile === undefined ? {} : { envFile: options.envFile, envFileMustExist: true }),
    overrides: { POLL_INTERVAL_SECONDS: '1' },
  };
  // The organizer's configuration is checked before anything starts (a ConfigError names what to fix),
  // and names the Docker engine whose bridge the platform listens on.
  const preview = localConfig({
    ...local,
    platformUrl: 'http://127.0.0.1',
    token: 'placeholder',
    queues: { '1': 'syn1' },
    outputRootId: 'syn1',
  });
  if (preview.engine.kind !== 'docker') {
    throw new UsageError(
      'try runs workflows on a local Docker engine: set DOCKER_ENGINE_URL (a WES server is not used by try; run the daemon for WES mode).',
    );
  }
  const engineClient = createDockerClient(preview.engine.url, preview.engine.certPath);

  // A run reusing --output starts from an empty platform, not from the last run's accounts.
  for (const leftover of ['platform', 'work', 'Logs', 'orchestrator.log']) {
    await rm(join(outputDir, leftover), { recursive: true, force: true });
  }
  await mkdir(outputDir, { recursive: true });

  let reachable: ReachablePlatform | undefined;
  let orchestrator: LocalOrchestrator | undefined;
  let finished = false;
  try {
    reachable = await startReachablePlatform({ dataDir: join(outputDir, 'platform'), docker: engineClient });
    const { admin, url } = reachable;
    const challenge = await seedChallenge(admin, url, {
      organizerUserName: 'organizer',
      projectName: 'Template trial',
      organizersTeamName: ORGANIZERS_TEAM,
      data,
      queues: [{ name: 'submission queue', archive, rootTemplate: options.rootTemplate }],
    });
    const queue = challenge.queues[0];
    if (queue === undefined || challenge.organizersTeamId === undefined)
      throw new Error('the trial queue or the organizers team was not created');
    const participant = await admin.createUser({
      userName: 'participant',
      firstName: 'Pat',
      lastName: 'Ticipant',
    });

    orchestrator = await startLocalOrchestrator({
      ...local,
      platformUrl: url,
      token: challenge.organizer.token,
      queues: { [queue.evaluationId]: queue.templateId },
      outputRootId: challenge.outputRootId,
      logFile: orchestratorLog,
    });
    const page = orchestrator.daemon.statusUrl;
    if (page !== undefined) options.progress?.write(`Status page of the orchestrator: ${page}/\n`);

    const submission = await admin.createSubmission({
      evaluationId: queue.evaluationId,
      userId: participant.ownerId,
      ...(options.submission === undefined
        ? {}
        : {
            file: {
              name: basename(options.submission),
              contentBase64: (await readFile(options.submission)).toString('base64'),
            },
          }),
      ...(docker === undefined ? {} : { docker }),
    });
    const stage = stageStatuses(orchestrator.config.intake.executionStage);
    const row: BoardRow = {
      id: submission.id,
      queue: 'submission queue',
      submitter: participant.userName,
      submittedAt: Date.now(),
      view: undefined,
    };
    const client = clientAs(url, challenge.organizer);
    const end = await watchUntilFinished({
      client,
      rows: [row],
      stage,
      ...(options.progress === undefined
        ? {}
        : {
            board: new ProgressBoard(
              options.progress,
              `Trying ${options.template} (${options.rootTemplate})`,
            ),
          }),
      timeoutMs: options.timeoutSeconds * 1000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    finished = end === 'finished';
    await orchestrator.stop();
    if (!finished) await removeJobs(orchestrator);

    const exported = await exportFolderTree(client, challenge.outputRootId, join(outputDir, 'Logs'));
    const log = exported.find((file) => file.relativePath.endsWith(`/${submission.id}_logs.txt`));
    // A throwaway platform: every message is about this trial, including the organizer's alerts (a
    // broken template is explained there, not to the participant).
    const messages: ReceivedMessage[] = await allMessages(admin);
    const view = row.view;
    return {
      data: challenge.data,
      organizersTeamId: challenge.organizersTeamId,
      submissionId: submission.id,
      status: view?.status ?? 'RECEIVED',
      succeeded: view?.succeeded ?? false,
      statusDescription: view?.statusDescription ?? null,
      failureReason: view?.failureReason ?? null,
      annotations: view?.workflowAnnotations ?? {},
      logsPath: log?.path ?? null,
      messages: messages.map(({ to, subject, body }) => ({ to, subject, body })),
      outputDir,
      orchestratorLog,
      ...(finished ? {} : { unfinished: end === 'finished' ? 'interrupted' : end }),
    };
  } finally {
    if (orchestrator !== undefined) {
      await orchestrator.stop().catch(() => undefined);
      if (!finished) await removeJobs(orchestrator);
    }
    await reachable?.platform.close();
  }
}
