/**
 * `try`: one evaluation of a template on a throwaway local platform, with the organizer's own
 * configuration and the production orchestrator. What an organizer runs before launching a challenge.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { stageStatuses } from '../evaluation/stages.js';
import { exportFolderTree } from './export-folder-tree.js';
import { startLocalOrchestrator, type LocalOrchestrator } from './local-orchestrator.js';
import { ProgressBoard, type BoardOutput, type BoardRow } from './progress-board.js';
import { startReachablePlatform, type ReachablePlatform } from './reachable-platform.js';
import { allMessages, type ReceivedMessage } from './received-messages.js';
import { organizerClient, seedChallenge, type TemplateArchive } from './seed-challenge.js';
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
  envFile?: string;
  /** Where everything goes (default: a new directory under the system temp dir). */
  outputDir?: string;
  timeoutSeconds: number;
  /** Where the live board is drawn (nothing when undefined). */
  progress?: BoardOutput;
  signal?: AbortSignal;
}

export interface TryResult {
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

export class TryInputError extends Error {}

async function templateArchive(template: string): Promise<TemplateArchive> {
  if (/^https?:\/\//i.test(template)) return { url: template };
  const path = resolve(template);
  if (!existsSync(path)) {
    throw new TryInputError(
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
    throw new TryInputError(
      `--docker-image ${image}: give the image by digest, repository@sha256:<64 hex> (docker image inspect --format '{{index .RepoDigests 0}}' <image> shows it).`,
    );
  }
  return { repositoryName: match[1], digest: match[2] };
}

export async function tryTemplate(options: TryOptions): Promise<TryResult> {
  if ((options.submission === undefined) === (options.dockerImage === undefined)) {
    throw new TryInputError(
      'Give exactly one of --submission <file> and --docker-image <repository@sha256:…>.',
    );
  }
  if (options.submission !== undefined && !existsSync(options.submission)) {
    throw new TryInputError(`--submission ${options.submission}: no such file.`);
  }
  const docker = options.dockerImage === undefined ? undefined : dockerSubmission(options.dockerImage);
  const archive = await templateArchive(options.template);
  const outputDir = resolve(
    options.outputDir ?? (await mkdtemp(join(tmpdir(), 'synapse-orchestrator-try-'))),
  );
  await mkdir(outputDir, { recursive: true });
  const orchestratorLog = join(outputDir, 'orchestrator.log');

  let reachable: ReachablePlatform | undefined;
  let orchestrator: LocalOrchestrator | undefined;
  try {
    reachable = await startReachablePlatform({ dataDir: join(outputDir, 'platform') });
    const { admin, url } = reachable;
    const challenge = await seedChallenge(admin, url, {
      organizerUserName: 'organizer',
      projectName: 'Template trial',
      queues: [{ name: 'submission queue', archive, rootTemplate: options.rootTemplate }],
    });
    const queue = challenge.queues[0];
    if (queue === undefined) throw new Error('the trial queue was not created');
    const participant = await admin.createUser({
      userName: 'participant',
      firstName: 'Pat',
      lastName: 'Ticipant',
    });

    orchestrator = await startLocalOrchestrator({
      platformUrl: url,
      token: challenge.organizer.token,
      queues: { [queue.evaluationId]: queue.templateId },
      outputRootId: challenge.outputRootId,
      workDir: join(outputDir, 'work'),
      orchestratorId: `try-${basename(outputDir)}`,
      logFile: orchestratorLog,
      ...(options.envFile === undefined ? {} : { envFile: options.envFile, envFileMustExist: true }),
      overrides: { POLL_INTERVAL_SECONDS: '1' },
    });

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
    const end = await watchUntilFinished({
      client: organizerClient(url, challenge.organizer),
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
    await orchestrator.stop();
    if (end !== 'finished') {
      // A throwaway run leaves nothing running behind.
      const engine = orchestrator.runtime.engine;
      for (const job of await engine.list(orchestrator.config.orchestratorId)) {
        await engine.stop(job.name, 5).catch(() => undefined);
        await engine.remove(job.name, undefined).catch(() => undefined);
      }
    }

    const client = organizerClient(url, challenge.organizer);
    const exported = await exportFolderTree(client, challenge.outputRootId, join(outputDir, 'Logs'));
    const log = exported.find((file) => file.relativePath.endsWith(`/${submission.id}_logs.txt`));
    // A throwaway platform: every message is about this trial, including the organizer's alerts (a
    // broken template is explained there, not to the participant).
    const messages: ReceivedMessage[] = await allMessages(admin);
    const view = row.view;
    return {
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
      ...(end === 'finished' ? {} : { unfinished: end }),
    };
  } finally {
    await orchestrator?.stop().catch(() => undefined);
    await reachable?.platform.close();
  }
}
