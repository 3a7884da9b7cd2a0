/**
 * A challenge on a local platform for the suite: the orchestrator's account, submitters, an output
 * folder, and queues each with its own CWL template; the daemon's configuration for it; submissions made
 * one at a time through the admin API, or thousands at once straight into the platform's store.
 *
 * The platform runs in the bench's own process: the daemon runs in another (daemon-process.ts), so the
 * platform's memory never counts as the orchestrator's, and its CPU time is this process's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../src/engine/interfaces.js';
import { LocalPlatformAdmin, type SeededUser } from '../../src/local-platform/admin-client.js';
import { storeFileBytes } from '../../src/local-platform/files.js';
import { insertEntity } from '../../src/local-platform/records.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/server.js';
import { createSubmission } from '../../src/local-platform/submissions.js';
import { PlatformStore } from '../../src/local-platform/store.js';
import { CONCRETE, ENTITY_ADMIN_ACCESS, type SubmissionStatusEnum } from '../../src/synapse/types.js';
import { zipBytes } from '../../test/support/archives.js';

export const ENGINE_IMAGE = 'local/cwl-engine:2';

/** A CWL tool with the inputs the orchestrator passes; `script` is what it runs (sh -c). */
export function workflowRunning(script: string): string {
  return `cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh, -c]
arguments: [${JSON.stringify(script)}]
inputs:
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  synapseConfig: File
  workflowSynapseId: string
outputs: []
`;
}

/** The job that ends at once (the overhead, calls and latency scenarios). */
export const QUICK_WORKFLOW = workflowRunning('echo scored');

export interface ChallengeOptions {
  queues: number;
  submitters: number;
  workflow: string;
  /** A name for this run, unique on the engine (containers are labelled with it). */
  run: string;
}

export interface Challenge {
  platform: LocalPlatform;
  admin: LocalPlatformAdmin;
  bot: SeededUser;
  submitters: SeededUser[];
  evaluationIds: string[];
  /** The orchestrator id the daemon is given: its containers carry it as a label. */
  orchestratorId: string;
  workDir: string;
  /** The daemon's configuration (as `run` reads it from the environment), with `overrides` on top. */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** One submission through the admin API (as a participant's would arrive); returns its id. */
  submit(queue: number, submitter: number): Promise<string>;
  /** `perQueue` RECEIVED submissions in each queue, written straight into the store in one change. */
  seed(perQueue: number): void;
  /** How many submissions of the challenge have each status now. */
  countByStatus(): Partial<Record<SubmissionStatusEnum, number>>;
  /** When each submission's status was written as `status` (from the platform's write journal), ms. */
  writtenAs(status: SubmissionStatusEnum): Map<string, number>;
  close(): Promise<void>;
}

export async function setUpChallenge(options: ChallengeOptions): Promise<Challenge> {
  const platform = await startLocalPlatform({
    dataDir: mkdtempSync(join(tmpdir(), 'bench-platform-')),
    // Synapse allows 10 messages a minute; the daemon is told the same limit as the platform (below), so
    // that every message of a scenario goes out within it and is counted.
    messageLimit: { count: 10_000, windowMs: 60_000 },
  });
  const admin = new LocalPlatformAdmin(platform.url, platform.adminToken);
  const bot = await admin.createUser({ userName: `orchestrator-${options.run}` });
  const submitters: SeededUser[] = [];
  for (let i = 0; i < options.submitters; i++) {
    submitters.push(await admin.createUser({ userName: `participant-${i}-${options.run}` }));
  }
  const project = await admin.createProject(`Bench ${options.run}`, bot.ownerId);
  const output = await admin.createFolder('Output', project.id, bot.ownerId);
  const archive = (await zipBytes([{ name: 'wf.cwl', data: options.workflow }])).toString('base64');
  const templates: Record<string, string> = {};
  const evaluationIds: string[] = [];
  for (let q = 0; q < options.queues; q++) {
    const template = await admin.createTemplate({
      name: `template-${q}.zip`,
      parentId: project.id,
      ownerId: bot.ownerId,
      rootTemplate: 'wf.cwl',
      archiveBase64: archive,
      fileName: `template-${q}.zip`,
    });
    const evaluation = await admin.createEvaluation({
      name: `Bench queue ${q} ${options.run}`,
      ownerId: bot.ownerId,
      contentSource: project.id,
      permissions: { [bot.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
    });
    templates[evaluation.id] = template.id;
    evaluationIds.push(evaluation.id);
  }
  const orchestratorId = `bench-${options.run}`;
  const workDir = mkdtempSync(join(tmpdir(), 'bench-work-'));
  const prediction = Buffer.from('id,score\n1,0.9\n').toString('base64');
  const store = platform.store;
  const ours = new Set<string>();

  return {
    platform,
    admin,
    bot,
    submitters,
    evaluationIds,
    orchestratorId,
    workDir,
    env: (overrides = {}) => ({
      SYNAPSE_ENDPOINT: platform.url,
      SYNAPSE_PAT: bot.token,
      EVALUATION_TEMPLATES: JSON.stringify(templates),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: output.id,
      DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
      WORKFLOW_ENGINE_DOCKER_IMAGE: ENGINE_IMAGE,
      WORKFLOW_ENGINE_COMMAND: 'cwltool',
      ORCHESTRATOR_WORK_DIR: workDir,
      ORCHESTRATOR_ID: orchestratorId,
      MESSAGES_PER_MINUTE: '10000',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...overrides,
    }),
    submit: async (queue, submitter) => {
      const user = submitters[submitter % submitters.length];
      const evaluationId = evaluationIds[queue % evaluationIds.length];
      if (user === undefined || evaluationId === undefined) throw new Error('no such queue or submitter');
      const submission = await admin.createSubmission({
        evaluationId,
        userId: user.ownerId,
        file: { name: 'prediction.csv', contentBase64: prediction },
      });
      ours.add(submission.id);
      return submission.id;
    },
    seed: (perQueue) => {
      store.change((state) => {
        // One prediction file per submitter, readable by them and the queue's owner, as the admin route
        // makes one per submission; each submits it `perQueue / submitters` times to every queue.
        const entities = submitters.map((user) => {
          const handle = storeFileBytes(
            store,
            user.ownerId,
            Buffer.from(prediction, 'base64'),
            'prediction.csv',
            'text/csv',
          );
          const entity = insertEntity(store, user.ownerId, {
            name: `prediction-${user.ownerId}.csv`,
            concreteType: CONCRETE.fileEntity,
            parentId: project.id,
            dataFileHandleId: handle.id,
          });
          state.acls[entity.id] = {
            id: entity.id,
            etag: PlatformStore.etag(),
            creationDate: PlatformStore.now(),
            resourceAccess: [
              { principalId: Number(user.ownerId), accessType: [...ENTITY_ADMIN_ACCESS] },
              { principalId: Number(bot.ownerId), accessType: [...ENTITY_ADMIN_ACCESS] },
            ],
          };
          for (const evaluationId of evaluationIds) {
            const evaluation = state.evaluations[evaluationId];
            if (evaluation !== undefined) evaluation.permissions[user.ownerId] = ['READ', 'SUBMIT'];
          }
          return { userId: user.ownerId, entityId: entity.id };
        });
        for (const evaluationId of evaluationIds) {
          for (let i = 0; i < perQueue; i++) {
            const { userId, entityId } = entities[i % entities.length] ?? { userId: '', entityId: '' };
            ours.add(createSubmission(store, userId, { evaluationId, entityId }, undefined).id);
          }
        }
      });
    },
    countByStatus: () => {
      const counts: Partial<Record<SubmissionStatusEnum, number>> = {};
      for (const id of ours) {
        const status = store.state.statuses[id]?.status;
        if (status !== undefined) counts[status] = (counts[status] ?? 0) + 1;
      }
      return counts;
    },
    writtenAs: (status) => {
      const at = new Map<string, number>();
      for (const write of store.journal.read().statuses) {
        if (write.status.status === status && ours.has(write.status.id) && !at.has(write.status.id)) {
          at.set(write.status.id, Date.parse(write.at));
        }
      }
      return at;
    },
    close: () => platform.close(),
  };
}

/** Label filter for the containers of one orchestrator id. */
export const labelOf = (orchestratorId: string): string => `${LABELS.orchestratorId}=${orchestratorId}`;
