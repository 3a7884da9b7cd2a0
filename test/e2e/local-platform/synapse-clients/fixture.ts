/**
 * A small challenge on a fresh local platform for the synapseclient-compatibility tests: an organizer who
 * owns a project, a folder and a queue; a participant (alice) in a team, with one file submission.
 */
import { createHash } from 'node:crypto';
import type { SeededUser } from '../../../../src/local-platform/admin-client.js';
import type { Entity, Evaluation, Submission, Team } from '../../../../src/synapse/types.js';
import { startTestPlatform, type TestPlatform } from '../../../support/platform.js';
import { PythonClientShape } from '../../../support/python-client.js';

export interface ClientFixture {
  t: TestPlatform;
  organizer: SeededUser;
  alice: SeededUser;
  team: Team;
  project: Entity;
  folder: Entity;
  queue: Evaluation;
  submission: Submission;
  submittedBytes: Buffer;
  /** The organizer's synapseclient, as a workflow step or an organizer script runs it. */
  org: PythonClientShape;
  /** Alice's synapseclient (a participant). */
  participant: PythonClientShape;
  close(): Promise<void>;
}

export const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

export async function startClientFixture(): Promise<ClientFixture> {
  const t = await startTestPlatform();
  const organizer = await t.admin.createUser({ userName: 'organizer', firstName: 'Olga' });
  const alice = await t.admin.createUser({ userName: 'alice', firstName: 'Alice' });
  const team = await t.admin.createTeam('Team Rocket', [alice.ownerId]);
  const project = await t.admin.createProject('Challenge', organizer.ownerId);
  const folder = await t.admin.createFolder('Logs', project.id, organizer.ownerId);
  const queue = await t.admin.createEvaluation({
    name: 'Queue 1',
    ownerId: organizer.ownerId,
    contentSource: project.id,
    permissions: { [alice.ownerId]: ['READ', 'SUBMIT'] },
  });
  const submittedBytes = Buffer.from('id,prediction\n1,0.5\n');
  const submission = await t.admin.createSubmission({
    evaluationId: queue.id,
    userId: alice.ownerId,
    file: {
      name: 'prediction.csv',
      contentBase64: submittedBytes.toString('base64'),
      contentType: 'text/csv',
    },
  });
  return {
    t,
    organizer,
    alice,
    team,
    project,
    folder,
    queue,
    submission,
    submittedBytes,
    org: new PythonClientShape(t.platform.url, organizer.token),
    participant: new PythonClientShape(t.platform.url, alice.token, '3.1.1'),
    close: () => t.close(),
  };
}
