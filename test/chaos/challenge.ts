/**
 * The chaos run's challenge on a local platform started in this process: an orchestrator account, an
 * organizer (told about pipeline problems), participants and a team, a project with an output folder,
 * and two queues, each with the chaos template (workload.ts). The platform listens on 127.0.0.1: the
 * workflows never call it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LocalPlatformAdmin, type SeededUser } from '../../src/local-platform/admin-client.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/server.js';
import type { Team } from '../../src/synapse/types.js';
import type { Profile } from './options.js';
import type { Random } from './random.js';
import { ROOT_TEMPLATE, templateArchive } from './workload.js';

export interface ChaosChallenge {
  platform: LocalPlatform;
  admin: LocalPlatformAdmin;
  orchestrator: SeededUser;
  /** NOTIFICATION_PRINCIPAL_ID: every message to this user is an admin message. */
  organizer: SeededUser;
  participants: SeededUser[];
  team: Team;
  outputRootId: string;
  queues: { evaluationId: string; templateId: string }[];
}

export interface SubmittedWork {
  id: string;
  evaluationId: string;
  /** Who gets its messages: the team for a team submission, else the user. */
  recipient: string;
  submittedAt: number;
}

/**
 * The token of the orchestrator's account: ./scripts/test's E2E_SYNAPSE_TOKEN when set, so the secret
 * scan that follows covers the daemons' output too; else a fresh one.
 */
function orchestratorToken(): string {
  return process.env.E2E_SYNAPSE_TOKEN ?? `chaos.${randomBytes(48).toString('base64url')}`;
}

export async function setUpChallenge(
  runDir: string,
  profile: Profile,
  seed: number,
  salt: number,
): Promise<ChaosChallenge> {
  const platform = await startLocalPlatform({
    dataDir: join(runDir, 'platform'),
    host: '127.0.0.1',
    messageLimit: { count: profile.messagesPerMinute, windowMs: 60_000 },
    faultSeed: seed,
  });
  const admin = new LocalPlatformAdmin(platform.url, platform.adminToken);
  const orchestrator = await admin.createUser({
    userName: 'chaos-orchestrator',
    firstName: 'Chaos',
    lastName: 'Bot',
    token: orchestratorToken(),
  });
  const organizer = await admin.createUser({ userName: 'chaos-organizer', firstName: 'Org' });
  const participants: SeededUser[] = [];
  for (let i = 1; i <= 6; i++) {
    participants.push(
      await admin.createUser({ userName: `participant-${i}`, firstName: 'Pat', lastName: `Nr${i}` }),
    );
  }
  const [first, second] = participants;
  if (first === undefined || second === undefined) throw new Error('no participants');
  const team = await admin.createTeam('Chaos Team', [first.ownerId, second.ownerId]);
  const project = await admin.createProject('Chaos challenge', orchestrator.ownerId);
  const output = await admin.createFolder('Output', project.id, orchestrator.ownerId);
  const archive = await templateArchive(salt);
  const queues = [];
  for (const index of [1, 2]) {
    const template = await admin.createTemplate({
      name: `chaos-template-${index}.zip`,
      parentId: project.id,
      ownerId: orchestrator.ownerId,
      rootTemplate: ROOT_TEMPLATE,
      archiveBase64: archive.toString('base64'),
      fileName: `chaos-template-${index}.zip`,
    });
    const evaluation = await admin.createEvaluation({
      name: `Chaos queue ${index}`,
      ownerId: orchestrator.ownerId,
      contentSource: project.id,
      permissions: {
        [orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION', 'DELETE_SUBMISSION'],
      },
    });
    queues.push({ evaluationId: evaluation.id, templateId: template.id });
  }
  return {
    platform,
    admin,
    orchestrator,
    organizer,
    participants,
    team,
    outputRootId: output.id,
    queues,
  };
}

/** One submission to a random queue by a random participant (one in five for the team). */
export async function submit(challenge: ChaosChallenge, random: Random, n: number): Promise<SubmittedWork> {
  const queue = random.pick(challenge.queues);
  const asTeam = random.next() < 0.2;
  const user = asTeam ? challenge.participants[0] : random.pick(challenge.participants);
  if (user === undefined) throw new Error('no participants');
  const submission = await challenge.admin.createSubmission({
    evaluationId: queue.evaluationId,
    userId: user.ownerId,
    ...(asTeam ? { teamId: challenge.team.id } : {}),
    name: `chaos submission ${n}`,
    file: { name: `prediction-${n}.csv`, contentBase64: Buffer.from(`id,n\n1,${n}\n`).toString('base64') },
  });
  return {
    id: submission.id,
    evaluationId: queue.evaluationId,
    recipient: asTeam ? challenge.team.id : user.ownerId,
    submittedAt: Date.now(),
  };
}
