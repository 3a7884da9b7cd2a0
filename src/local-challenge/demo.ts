/**
 * `npm run demo`: a whole challenge on the embedded local platform, run by the production orchestrator
 * with real containers. Seeds (once) a demo project, an output folder, two queues and the demo template
 * from examples/demo-challenge; submits four submissions from two participants and their team (one
 * scores, one fails validation, one is cancelled while it runs, one scores after a longer run); shows a
 * live board; then summarizes outcomes, exported logs and the messages participants received.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerClient } from '../engine/docker/client.js';
import { stageStatuses } from '../evaluation/stages.js';
import type { LocalPlatformAdmin } from '../local-platform/admin-client.js';
import { submitFile } from '../organizer/submit.js';
import { SynapseClient } from '../synapse/client.js';
import { readDemoState, writeDemoState, type DemoState } from './demo-state.js';
import { exportFolderTree, type ExportedFile } from './export-folder-tree.js';
import { startLocalOrchestrator, type LocalOrchestrator } from './local-orchestrator.js';
import { ProgressBoard, type BoardOutput, type BoardRow } from './progress-board.js';
import { startReachablePlatform, type ReachablePlatform } from './reachable-platform.js';
import { messagesAbout, type ReceivedMessage } from './received-messages.js';
import { allowSubmissions, clientAs, seedChallenge, storeTemplateArchive } from './seed-challenge.js';
import { viewOf } from './submission-view.js';
import { sleep, watchUntilFinished } from './watch.js';
import { zipDirectory } from './zip-directory.js';

/** The demo challenge shipped in the repository. */
export const DEMO_CHALLENGE_DIR = fileURLToPath(new URL('../../examples/demo-challenge', import.meta.url));

export interface DemoOptions {
  /** Where the platform's data, the work directory, exported logs and messages live. */
  dir: string;
  port: number;
  keepRunning: boolean;
  out: BoardOutput & { write(text: string): unknown };
  signal?: AbortSignal;
}

/** What each demo submission should end as; the demo fails loudly when one does not. */
interface Planned {
  label: string;
  queue: 'leaderboard' | 'final';
  file: string;
  by: 'alice' | 'bob';
  asTeam: boolean;
  cancelWhileRunning: boolean;
  expect: (row: BoardRow) => boolean;
  expectation: string;
}

const PLAN: readonly Planned[] = [
  {
    label: 'scores',
    queue: 'leaderboard',
    file: 'good.csv',
    by: 'alice',
    asTeam: false,
    cancelWhileRunning: false,
    expect: (row) => row.view?.succeeded === true && row.view.workflowAnnotations.score !== undefined,
    expectation: 'accepted with a score',
  },
  {
    label: 'fails validation',
    queue: 'leaderboard',
    file: 'invalid.csv',
    by: 'bob',
    asTeam: true,
    cancelWhileRunning: false,
    expect: (row) => row.view?.status === 'INVALID' && row.view.statusDescription === 'ERROR',
    expectation: 'INVALID (ERROR)',
  },
  {
    label: 'cancelled while running',
    queue: 'final',
    file: 'good.csv',
    by: 'bob',
    asTeam: false,
    cancelWhileRunning: true,
    expect: (row) => row.view?.statusDescription === 'STOPPED UPON REQUEST',
    expectation: 'stopped upon request',
  },
  {
    label: 'scores after a longer run',
    queue: 'final',
    file: 'another.csv',
    by: 'alice',
    asTeam: true,
    cancelWhileRunning: false,
    expect: (row) => row.view?.succeeded === true && row.view.workflowAnnotations.score !== undefined,
    expectation: 'accepted with a score',
  },
];

const QUEUES = {
  leaderboard: { name: 'Leaderboard round', rootTemplate: 'score.cwl' },
  final: { name: 'Final round', rootTemplate: 'final-round.cwl' },
} as const;

/** The orchestrator's settings for the demo: the engine image built by scripts/build-engine-images.sh. */
const DEMO_SETTINGS = {
  WORKFLOW_ENGINE_DOCKER_IMAGE: 'local/cwl-engine:2',
  WORKFLOW_ENGINE_COMMAND: 'cwltool',
  DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
  IMAGE_PULL_POLICY: 'never',
  POLL_INTERVAL_SECONDS: '2',
  MAX_CONCURRENT_WORKFLOWS: '4',
  LOG_UPLOAD_INTERVAL_SECONDS: '15',
  LOG_LEVEL: 'info',
} as const;

/** Whether the platform data in `dir` still holds the organizer recorded in demo.json. */
async function platformKnows(dir: string, state: DemoState, port: number, docker: Docker): Promise<boolean> {
  if (!existsSync(join(dir, 'platform'))) return false;
  const probe = await startReachablePlatform({ dataDir: join(dir, 'platform'), port, docker });
  try {
    await clientAs(probe.url, state.challenge.organizer).profiles.me();
    return true;
  } catch {
    return false;
  } finally {
    await probe.platform.close();
  }
}

/** Seeds the demo challenge on the first run (or when the platform's data is gone); reuses it after. */
async function ensureChallenge(
  admin: LocalPlatformAdmin,
  url: string,
  statePath: string,
  known: DemoState | undefined,
): Promise<DemoState> {
  if (known !== undefined) return known;
  const archive = await demoTemplateArchive();
  const challenge = await seedChallenge(admin, url, {
    organizerUserName: 'demo-organizer',
    projectName: 'Demo challenge',
    queues: [
      { name: QUEUES.leaderboard.name, archive, rootTemplate: QUEUES.leaderboard.rootTemplate },
      { name: QUEUES.final.name, archive, rootTemplate: QUEUES.final.rootTemplate },
    ],
  });
  const alice = await admin.createUser({ userName: 'alice', firstName: 'Alice', lastName: 'Example' });
  const bob = await admin.createUser({ userName: 'bob', firstName: 'Bob', lastName: 'Example' });
  const team = await admin.createTeam('Demo team', [alice.ownerId, bob.ownerId]);
  const client = clientAs(url, challenge.organizer);
  for (const queue of challenge.queues) {
    await allowSubmissions(client, queue.evaluationId, [alice.ownerId, bob.ownerId, team.id]);
  }
  const state: DemoState = { challenge, participants: { alice, bob }, team };
  await writeDemoState(statePath, state);
  return state;
}

/** The shipped template as it is now, stored as a new version when it changed since the last run. */
async function refreshTemplates(client: SynapseClient, state: DemoState): Promise<void> {
  const archive = await demoTemplateArchive();
  const md5 = createHash('md5').update(archive.bytes).digest('hex');
  for (const [index, queue] of state.challenge.queues.entries()) {
    const entity = await client.entities.get(queue.templateId);
    const [stored] = await client.entities.getFileHandles(queue.templateId);
    if (entity.parentId === undefined || stored?.contentMd5 === md5) continue;
    const root = index === 0 ? QUEUES.leaderboard.rootTemplate : QUEUES.final.rootTemplate;
    await storeTemplateArchive(client, entity.parentId, entity.name, archive, root);
  }
}

/** The template shipped in examples/demo-challenge/template, zipped (the same bytes while it is unchanged). */
async function demoTemplateArchive(): Promise<{ bytes: Buffer; fileName: string }> {
  return { bytes: await zipDirectory(join(DEMO_CHALLENGE_DIR, 'template')), fileName: 'demo-template.zip' };
}

/** The line of a log that says why a workflow failed, when the template prints one. */
async function reasonFromLog(file: ExportedFile | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const text = await readFile(file.path, 'utf8');
  const line = text.split('\n').find((l) => /invalid submission:/i.test(l));
  return line?.replace(/^STD(OUT|ERR) \S+ /, '').trim();
}

function nameOf(state: DemoState, principalId: string): string {
  const { alice, bob } = state.participants;
  if (principalId === alice.ownerId) return 'alice';
  if (principalId === bob.ownerId) return 'bob';
  if (principalId === state.team.id) return state.team.name;
  if (principalId === state.challenge.organizer.ownerId) return 'demo-organizer';
  return principalId;
}

/** The images the demo's template and engine use, built by scripts/build-*-images.sh (npm run demo). */
const DEMO_IMAGES = [DEMO_SETTINGS.WORKFLOW_ENGINE_DOCKER_IMAGE, 'local/busybox:1'];

async function checkImages(docker: Docker): Promise<void> {
  const missing: string[] = [];
  for (const image of DEMO_IMAGES) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => missing.push(image));
  }
  if (missing.length > 0) {
    throw new Error(
      `The demo needs the image${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not on this Docker engine. \`npm run demo\` builds them (scripts/build-test-images.sh, scripts/build-engine-images.sh).`,
    );
  }
}

export async function runDemo(options: DemoOptions): Promise<boolean> {
  const { out } = options;
  const dir = resolve(options.dir);
  const docker = createDockerClient(DEMO_SETTINGS.DOCKER_ENGINE_URL);
  await checkImages(docker);
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const statePath = join(dir, 'demo.json');
  let known = readDemoState(statePath);

  let reachable: ReachablePlatform | undefined;
  let orchestrator: LocalOrchestrator | undefined;
  try {
    // Without a record of what was seeded, or with one the platform no longer knows (its data was
    // removed), start the platform afresh rather than guess.
    if (known === undefined || !(await platformKnows(dir, known, options.port, docker))) {
      known = undefined;
      await rm(join(dir, 'platform'), { recursive: true, force: true });
    }
    reachable = await startReachablePlatform({ dataDir: join(dir, 'platform'), port: options.port, docker });
    const { admin, url } = reachable;
    const state = await ensureChallenge(admin, url, statePath, known);
    const organizer = clientAs(url, state.challenge.organizer);
    if (known !== undefined) await refreshTemplates(organizer, state);
    const [leaderboard, final] = state.challenge.queues;
    if (leaderboard === undefined || final === undefined)
      throw new Error(`${statePath} lists no demo queues`);
    out.write(
      `Demo challenge on the local platform at ${url} (${known === undefined ? 'set up now' : 'set up by an earlier run'}; data in ${dir})\n` +
        `  queues: ${leaderboard.evaluationId} ${leaderboard.name}, ${final.evaluationId} ${final.name}; participants alice and bob, team "${state.team.name}"\n\n`,
    );

    const logFile = join(dir, 'orchestrator.log');
    orchestrator = await startLocalOrchestrator({
      platformUrl: url,
      token: state.challenge.organizer.token,
      queues: { [leaderboard.evaluationId]: leaderboard.templateId, [final.evaluationId]: final.templateId },
      outputRootId: state.challenge.outputRootId,
      workDir: join(dir, 'work'),
      orchestratorId: `demo-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`,
      logFile,
      env: {},
      envFile: join(dir, 'no-env-file'),
      overrides: DEMO_SETTINGS,
    });
    const page = orchestrator.daemon.statusUrl;
    if (page !== undefined)
      out.write(`Status page of the orchestrator: ${page}/ (status: ${page}/status.json)\n\n`);

    const rows: (BoardRow & { plan: Planned })[] = [];
    for (const plan of PLAN) {
      const queue = plan.queue === 'leaderboard' ? leaderboard : final;
      const user = state.participants[plan.by];
      const path = join(DEMO_CHALLENGE_DIR, 'submissions', plan.file);
      // As the participant would with `synapse-orchestrator submit`: upload, store in their project, submit.
      const { submission } = await submitFile(clientAs(url, user), {
        evaluationId: queue.evaluationId,
        file: path,
        name: plan.file,
        ...(plan.asTeam ? { teamId: state.team.id } : {}),
      });
      rows.push({
        plan,
        id: submission.id,
        queue: queue.name,
        submitter: plan.asTeam ? `${state.team.name} (${plan.by})` : plan.by,
        submittedAt: Date.now(),
        view: undefined,
      });
    }

    const stage = stageStatuses(orchestrator.config.intake.executionStage);
    const runningSince = new Map<string, number>();
    const end = await watchUntilFinished({
      client: organizer,
      rows,
      stage,
      board: new ProgressBoard(out, 'Submissions (live):'),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onPoll: async () => {
        for (const row of rows) {
          if (!row.plan.cancelWhileRunning || row.note !== undefined || row.view?.phase !== 'running')
            continue;
          const since = runningSince.get(row.id) ?? Date.now();
          runningSince.set(row.id, since);
          if ((row.view.progress ?? 0) < 10 && Date.now() - since < 8_000) continue;
          // As the participant would, from the web site or the Python client.
          try {
            await clientAs(url, state.participants[row.plan.by]).evaluations.requestCancel(row.id);
            row.note = `cancel requested by ${row.plan.by}`;
          } catch (error) {
            // E.g. it finished in between; the summary will show how it ended.
            row.note = `cancel refused: ${(error as Error).message}`;
          }
        }
      },
    });
    if (end !== 'finished') {
      out.write(
        `\nStopped watching (${end}). The orchestrator picks the submissions up again at the next run.\n`,
      );
      return false;
    }

    // Statuses are final; the messages follow them out of the outbox (paced as on Synapse).
    await orchestrator.daemon.settle(120_000);
    const exported = await exportFolderTree(organizer, state.challenge.outputRootId, join(dir, 'Logs'));
    const messages = await messagesAbout(
      admin,
      rows.map((row) => row.id),
    );
    const ok = await printSummary({ ...options, dir }, state, rows, exported, messages, started);
    if (!options.keepRunning) return ok;
    await keepRunning({ ...options, dir }, state, url, organizer, stage);
    return ok;
  } finally {
    await orchestrator?.stop().catch(() => undefined);
    await reachable?.platform.close();
  }
}

async function printSummary(
  options: DemoOptions,
  state: DemoState,
  rows: readonly (BoardRow & { plan: Planned })[],
  exported: readonly ExportedFile[],
  messages: readonly ReceivedMessage[],
  started: number,
): Promise<boolean> {
  const { out, dir } = options;
  const lines = [`\nDemo finished in ${Math.round((Date.now() - started) / 1000)} s. What happened:\n`];
  let ok = true;
  for (const row of rows) {
    const view = row.view;
    if (view === undefined) continue;
    const met = row.plan.expect(row);
    ok &&= met;
    const score = view.workflowAnnotations.score;
    const outcome = `${view.status}${view.statusDescription === undefined ? '' : ` (${view.statusDescription})`}`;
    lines.push(
      `  ${row.id}  ${row.queue.padEnd(17)} ${row.submitter.padEnd(18)} ${outcome.padEnd(32)} ${score === undefined ? '' : `score ${score}`}`.trimEnd(),
    );
    if (view.failureReason !== undefined) lines.push(`           reason: ${view.failureReason}`);
    const log = exported.find((file) => file.relativePath.endsWith(`/${row.id}_logs.txt`));
    const fromLog = view.succeeded ? undefined : await reasonFromLog(log);
    if (fromLog !== undefined) lines.push(`           from its log: ${fromLog}`);
    if (log !== undefined) lines.push(`           log: ${log.path}`);
    if (!met)
      lines.push(`           expected: ${row.plan.expectation} (this is not what the demo should show)`);
  }

  lines.push(
    `\nLogs: the output folder's tree, exported to ${join(dir, 'Logs')} (<submitter>/<submission>/):`,
  );
  const ids = new Set(rows.map((row) => row.id));
  for (const file of exported) {
    const submissionFolder = file.relativePath.split('/')[1] ?? '';
    const submitter = nameOf(state, file.relativePath.split('/')[0]?.replace(/_LOCKED$/, '') ?? '');
    if (ids.has(submissionFolder)) lines.push(`  Logs/${file.relativePath}  (${submitter})`);
  }

  lines.push('\nMessages the participants received (Synapse would email them):');
  const messageDir = join(dir, 'Messages');
  await rm(messageDir, { recursive: true, force: true });
  const byRecipient = new Map<string, ReceivedMessage[]>();
  for (const message of messages) {
    for (const to of message.to) byRecipient.set(to, [...(byRecipient.get(to) ?? []), message]);
  }
  for (const [to, received] of byRecipient) {
    const name = nameOf(state, to);
    lines.push(`  to ${name}:`);
    await mkdir(join(messageDir, name), { recursive: true });
    for (const [index, message] of received.entries()) {
      lines.push(`    ${message.subject}`);
      await writeFile(
        join(messageDir, name, `${String(index + 1).padStart(2, '0')}-${message.submissionId}.txt`),
        `Subject: ${message.subject}\n\n${message.body}\n`,
      );
    }
  }
  lines.push(`  Full texts: ${messageDir}`);
  lines.push(`\nThe orchestrator's own log: ${join(dir, 'orchestrator.log')}`);
  lines.push(
    ok
      ? '\nEvery submission ended as expected.'
      : '\nSome submissions did not end as the demo expects (see "expected:" above); the orchestrator log says why.',
  );
  if (!options.keepRunning)
    lines.push('Run `npm run demo -- --keep-running` to keep it up and submit your own files.');
  out.write(`${lines.join('\n')}\n`);
  return ok;
}

/** `--keep-running`: the daemon and platform stay up; participants' settings are written for `submit`. */
async function keepRunning(
  options: DemoOptions,
  state: DemoState,
  url: string,
  organizer: SynapseClient,
  stage: ReturnType<typeof stageStatuses>,
): Promise<void> {
  const { out, dir } = options;
  for (const name of ['alice', 'bob'] as const) {
    const path = join(dir, `${name}.env`);
    await writeFile(path, `SYNAPSE_ENDPOINT=${url}\nSYNAPSE_PAT=${state.participants[name].token}\n`, {
      mode: 0o600,
    });
  }
  const [leaderboard, final] = state.challenge.queues;
  out.write(
    `\nStill running: the local platform at ${url} and the orchestrator. Submit as alice (or bob) with:\n` +
      `  node dist/cli.js --env-file ${join(dir, 'alice.env')} submit --evaluation ${leaderboard?.evaluationId ?? ''} ${join(DEMO_CHALLENGE_DIR, 'submissions', 'good.csv')}\n` +
      `  (queues: ${leaderboard?.evaluationId ?? ''} ${leaderboard?.name ?? ''}, ${final?.evaluationId ?? ''} ${final?.name ?? ''})\n` +
      'New submissions appear below as they change. Press Ctrl-C to stop.\n\n',
  );
  const seen = new Map<string, string>();
  const signal = options.signal;
  while (signal?.aborted !== true) {
    for (const queue of state.challenge.queues) {
      const bundles = await organizer.evaluations.bundles(queue.evaluationId).catch(() => undefined);
      for (const bundle of bundles?.items ?? []) {
        const view = viewOf(bundle.submissionStatus, stage);
        const text = `${view.status}${view.statusDescription === undefined ? '' : ` (${view.statusDescription})`}${view.progress === undefined || view.phase !== 'running' ? '' : ` ${Math.round(view.progress)}%`}`;
        const before = seen.get(bundle.submission.id);
        if (before === text) continue;
        seen.set(bundle.submission.id, text);
        if (before === undefined && view.phase === 'finished') continue; // history from earlier runs
        const score = view.workflowAnnotations.score;
        out.write(
          `  ${bundle.submission.id}  ${queue.name.padEnd(17)} ${text}${score === undefined ? '' : `  score ${score}`}${view.failureReason === undefined ? '' : `  ${view.failureReason}`}\n`,
        );
      }
    }
    await sleep(2000, signal);
  }
  out.write(
    '\nStopping: the orchestrator and the local platform. Workflows still running are picked up by the next demo run.\n',
  );
}
