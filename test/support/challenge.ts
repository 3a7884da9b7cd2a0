/**
 * A whole challenge on the local platform for lifecycle tests: an organizer's project and output folder,
 * queues with templates, participants, and an orchestrator runtime (the production code) pointed at it.
 * Tests drive ticks themselves (`tickUntil`) so they wait on behaviour, not on a clock.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Docker from 'dockerode';
import { unzip, zipBytes } from './archives.js';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/config.js';
import { LABELS } from '../../src/engine/interfaces.js';
import { createLogger } from '../../src/logging/logger.js';
import type { SeededUser } from '../../src/local-platform/admin-client.js';
import { OrchestratorDaemon, type DaemonOptions } from '../../src/daemon.js';
import { SynapseClient } from '../../src/synapse/client.js';
import type { SubmissionStatus, Team } from '../../src/synapse/types.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from './platform.js';
import { productLogStream } from './cli.js';

export const ENGINE_IMAGE = 'local/cwl-engine:2';
export const TOIL_ENGINE_IMAGE = 'local/cwl-engine:2-toil';
export const STEP_IMAGE = 'local/busybox:1';
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'workflows');

const SAGE_INPUTS = `inputs:
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  synapseConfig: File
  workflowSynapseId: string
`;

/** A one-tool CWL "workflow" running `script` with sh inside the engine container (fast: no step container). */
export function shellTool(script: string): string {
  return `cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh, -c]
arguments: [${JSON.stringify(script)}]
${SAGE_INPUTS}outputs: []
`;
}

/** A tool running `script` in a sibling step container (local/busybox:1) through the Docker socket. */
export function stepTool(script: string): string {
  return `cwlVersion: v1.0
class: CommandLineTool
requirements:
  DockerRequirement:
    dockerPull: ${STEP_IMAGE}
baseCommand: [sh, -c]
arguments: [${JSON.stringify(script)}]
${SAGE_INPUTS}outputs: []
`;
}

/** Zips files given as { path: content } into an archive buffer (see filesOf for a directory on disk). */
export function zipFiles(files: Record<string, string | Buffer>): Promise<Buffer> {
  return zipBytes(Object.entries(files).map(([name, data]) => ({ name, data })));
}

export function filesOf(dir: string, prefix = ''): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[`${prefix}${relative(dir, path)}`] = readFileSync(path);
    }
  };
  walk(dir);
  return files;
}

export interface QueueSpec {
  name?: string;
  /** The template archive (zip or tar.gz bytes) and its ROOT_TEMPLATE. */
  archive: Buffer;
  rootTemplate?: string;
}

export interface Challenge {
  tp: TestPlatform;
  organizerProjectId: string;
  outputRootId: string;
  participant: SeededUser;
  teammate: SeededUser;
  team: Team;
  queues: { evaluationId: string; templateId: string }[];
  /** The orchestrator account's client (it owns the project, so it may edit templates). */
  client: SynapseClient;
  /** Stops the orchestrators started on it (startOrchestrator), then the platform. */
  close(): Promise<void>;
  /** Orchestrators started on this challenge, stopped by close(). */
  orchestrators: RunningOrchestrator[];
}

let counter = 0;

export interface ChallengeOptions {
  /**
   * Where the platform listens (default 127.0.0.1). Workflows that call the platform themselves need an
   * address containers reach: Docker's bridge gateway (src/local-challenge/docker-host-address.ts).
   */
  host?: string;
}

export async function setUpChallenge(
  queues: QueueSpec[],
  options: ChallengeOptions = {},
): Promise<Challenge> {
  // Synapse's message limit (10 per minute per sender), shrunk like the client's pacing below.
  const tp = await startTestPlatform({
    messageLimit: { count: 10, windowMs: 2_000 },
    ...(options.host === undefined ? {} : { host: options.host }),
  });
  const { admin, orchestrator } = tp;
  const unique = `${process.pid}-${++counter}`;
  const participant = await admin.createUser({
    userName: `participant-${unique}`,
    firstName: 'Pat',
    lastName: 'Ticipant',
  });
  const teammate = await admin.createUser({ userName: `teammate-${unique}` });
  const team = await admin.createTeam(`Team $1 \\ ${unique}`, [participant.ownerId, teammate.ownerId]);
  const project = await admin.createProject(`Challenge ${unique}`, orchestrator.ownerId);
  const output = await admin.createFolder('Output', project.id, orchestrator.ownerId);
  const created = [];
  for (const [index, queue] of queues.entries()) {
    const template = await admin.createTemplate({
      name: `template-${index}.zip`,
      parentId: project.id,
      ownerId: orchestrator.ownerId,
      ...(queue.rootTemplate === undefined ? {} : { rootTemplate: queue.rootTemplate }),
      archiveBase64: queue.archive.toString('base64'),
      fileName: `template-${index}.zip`,
    });
    const evaluation = await admin.createEvaluation({
      name: queue.name ?? `Queue ${index + 1} (${unique})`,
      ownerId: orchestrator.ownerId,
      contentSource: project.id,
      permissions: {
        [orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION', 'DELETE_SUBMISSION'],
      },
    });
    created.push({ evaluationId: evaluation.id, templateId: template.id });
  }
  const client = new SynapseClient({ endpoint: tp.endpoint, token: orchestrator.token, retry: FAST_RETRY });
  const orchestrators: RunningOrchestrator[] = [];
  return {
    orchestrators,
    tp,
    organizerProjectId: project.id,
    outputRootId: output.id,
    participant,
    teammate,
    team,
    queues: created,
    client,
    close: async () => {
      const stopped = orchestrators.splice(0);
      await Promise.all(stopped.map((o) => o.stop()));
      // Work a test left under way (a start still retrying when it stopped a daemon to play a crash) may
      // have made containers since: none outlives the test file.
      await removeContainersOf(stopped.map((o) => o.config.orchestratorId));
      await tp.close();
    },
  };
}

export interface RunningOrchestrator {
  /** The production daemon; tests drive its ticks (`runOnce`) while its message sender runs by itself. */
  daemon: OrchestratorDaemon;
  config: Config;
  workDir: string;
  /**
   * Runs ticks until `done` holds (checked after each tick), then waits for the messages in the outbox to
   * go out; fails after `timeoutMs`.
   */
  tickUntil(done: () => Promise<boolean>, timeoutMs?: number, onTick?: () => Promise<void>): Promise<void>;
  /** Stops it as SIGTERM would (workflows keep running); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export async function startOrchestrator(
  challenge: Challenge,
  env: Record<string, string> = {},
  options: Partial<DaemonOptions> = {},
): Promise<RunningOrchestrator> {
  const workDir = env.ORCHESTRATOR_WORK_DIR ?? mkdtempSync(join(tmpdir(), 'orchestrator-work-'));
  const templates = Object.fromEntries(challenge.queues.map((q) => [q.evaluationId, q.templateId]));
  const { config } = loadConfig({
    envFile: '/nonexistent/.env',
    env: {
      SYNAPSE_ENDPOINT: challenge.tp.platform.url,
      SYNAPSE_PAT: challenge.tp.orchestrator.token,
      EVALUATION_TEMPLATES: JSON.stringify(templates),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: challenge.outputRootId,
      DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
      WORKFLOW_ENGINE_DOCKER_IMAGE: ENGINE_IMAGE,
      WORKFLOW_ENGINE_COMMAND: 'cwltool',
      ORCHESTRATOR_WORK_DIR: workDir,
      ORCHESTRATOR_ID: `test-${process.pid}-${++counter}`,
      POLL_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'debug',
      // Many daemons run at once in one process and on one host: no status server unless a test asks.
      STATUS_PORT: '0',
      ...env,
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', stream: productLogStream() });
  const daemon = await OrchestratorDaemon.create(config, logger, {
    // Synapse's message pacing (10 per minute) shrunk to 10 per 2 s so tests do not wait minutes.
    synapse: { retry: FAST_RETRY, messages: { windowMs: 2_000 } },
    stopGraceSeconds: 5,
    pull: { attempts: 2, firstDelayMs: 10, maxDelayMs: 20 },
    ...options,
  });
  daemon.startSending();
  const running: RunningOrchestrator = {
    daemon,
    config,
    workDir,
    stop: (graceMs) => daemon.stop(graceMs),
    async tickUntil(done, timeoutMs = 120_000, onTick) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await daemon.runOnce();
        if (onTick !== undefined) await onTick();
        if (await done()) {
          // Messages follow the status (the outbox sends them): let them go before the test looks.
          await daemon.settle(60_000);
          return;
        }
        if (Date.now() > deadline) throw new Error(`tickUntil: condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    },
  };
  challenge.orchestrators.push(running);
  return running;
}

/** The messages the local platform received for `recipient` about submission `id` (subjects name it). */
export async function messagesAbout(challenge: Challenge, id: string) {
  return (await challenge.tp.admin.messages()).filter((m) => (m.subject ?? '').includes(`Submission ${id} `));
}

export async function statusOf(challenge: Challenge, submissionId: string): Promise<SubmissionStatus> {
  return challenge.client.evaluations.getStatus(submissionId);
}

export const FINAL = new Set(['ACCEPTED', 'INVALID', 'VALIDATED', 'REJECTED', 'SCORED']);

export async function submitFile(
  challenge: Challenge,
  evaluationId: string,
  options: { asTeam?: boolean; content?: string } = {},
): Promise<string> {
  const submission = await challenge.tp.admin.createSubmission({
    evaluationId,
    userId: challenge.participant.ownerId,
    ...(options.asTeam === true ? { teamId: challenge.team.id } : {}),
    file: {
      name: 'prediction.csv',
      contentBase64: Buffer.from(options.content ?? 'id,score\n1,0.5\n').toString('base64'),
    },
  });
  return submission.id;
}

async function removeContainersOf(orchestratorIds: string[]): Promise<void> {
  const docker = new Docker();
  for (const id of orchestratorIds) {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.orchestratorId}=${id}`] },
    });
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }
}

/** Every container on the engine that belongs to `orchestratorId`, or that mounts something under `dir`. */
export async function containersOf(orchestratorId: string, dir?: string): Promise<string[]> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true });
  return all
    .filter(
      (c) =>
        c.Labels[LABELS.orchestratorId] === orchestratorId ||
        (dir !== undefined && c.Mounts.some((m) => m.Source.startsWith(dir))),
    )
    .map((c) => c.Names[0] ?? c.Id);
}

/** The `<id>_logs.zip` stored in `folderId`: its entity version and the text of its one entry. */
export async function readStoredLog(
  challenge: Challenge,
  folderId: string,
  submissionId: string,
): Promise<{ version: number | undefined; text: string } | undefined> {
  const entityId = await challenge.client.entities.lookupChild(folderId, `${submissionId}_logs.zip`);
  if (entityId === undefined) return undefined;
  const entity = await challenge.client.entities.get(entityId);
  const { url } = await challenge.client.files.getDownloadUrl({
    associateObjectType: 'FileEntity',
    associateObjectId: entityId,
    fileHandleId: entity.dataFileHandleId ?? '',
  });
  const path = join(mkdtempSync(join(tmpdir(), 'stored-log-')), 'logs.zip');
  await challenge.client.files.downloadToFile(url, path);
  const [content] = (await unzip(path)).values();
  const text = content?.toString('utf8') ?? '';
  return { version: entity.versionNumber, text };
}
