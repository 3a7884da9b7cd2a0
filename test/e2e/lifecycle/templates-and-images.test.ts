/**
 * A broken template or an image that cannot be pulled ends the submission INVALID with a reason, tells
 * the organizers once, and never stops the daemon; an edited template is used from the next submission on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { patch } from '../../support/archives.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  containersOf,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

const good = () => zipFiles({ 'wf.cwl': shellTool('echo ok') });

/** A zip whose one entry is named `../escape.cwl` (yazl refuses such names, so the bytes are patched). */
async function zipSlip(): Promise<Buffer> {
  return patch(await zipFiles({ 'aa/escape.cwl': shellTool('echo ok') }), 'aa/escape.cwl', '../escape.cwl');
}

describeWithDocker('broken templates', () => {
  let challenge: Challenge;
  const cases = ['no ROOT_TEMPLATE', 'root not in archive', 'zip-slip archive', 'corrupt archive'] as const;

  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await good() },
      { archive: await good(), rootTemplate: 'workflow/missing.cwl' },
      { archive: await zipSlip(), rootTemplate: '../escape.cwl' },
      { archive: (await good()).subarray(0, 40), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('each ends INVALID with "template is broken"; the admin hears once per problem, naming the template', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const ids = await Promise.all(challenge.queues.map((q) => submitFile(challenge, q.evaluationId)));
    const second = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    await orchestrator.tickUntil(async () => {
      const statuses = await Promise.all([...ids, second].map((id) => statusOf(challenge, id)));
      return statuses.every((s) => FINAL.has(s.status));
    }, 60_000);
    for (const id of [...ids, second]) {
      const status = await statusOf(challenge, id);
      expect(status.status).toBe('INVALID');
      expect(readString(status, ANNOTATIONS.failureReason)).toBe(
        'The workflow template is broken (the organizers have been told).',
      );
    }
    const messages = await challenge.tp.admin.messages();
    const toAdmin = messages.filter((m) => m.recipients.includes(challenge.tp.orchestrator.ownerId));
    expect(toAdmin).toHaveLength(cases.length); // the second submission of queue 0 adds no message
    const bodies = toAdmin.map((m) => m.body).join('\n');
    for (const queue of challenge.queues) expect(bodies).toContain(queue.templateId);
    expect(bodies).toMatch(/ROOT_TEMPLATE/);
    expect(bodies).toMatch(/workflow\/missing\.cwl/);
    expect(bodies).not.toContain(challenge.tp.orchestrator.token);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  });
});

describeWithDocker('templates change and images fail', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([{ archive: await good(), rootTemplate: 'wf.cwl' }]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('a template edited between two submissions is used for the second without a restart', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const queue = challenge.queues[0];
    if (queue === undefined) throw new Error('no queue');
    const first = await submitFile(challenge, queue.evaluationId);
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, first)).status));
    expect((await statusOf(challenge, first)).status).toBe('ACCEPTED');

    // The organizer uploads a new archive to the same template entity (a new version).
    const archive = await zipFiles({ 'wf.cwl': shellTool('exit 4') });
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const dir = await mkdtemp('/tmp/template-edit-');
    await writeFile(`${dir}/template.zip`, archive);
    const handle = await challenge.client.files.uploadFile(`${dir}/template.zip`, {
      fileName: 'template.zip',
    });
    const entity = await challenge.client.entities.get(queue.templateId);
    await challenge.client.entities.update({ ...entity, dataFileHandleId: handle.id });

    const second = await submitFile(challenge, queue.evaluationId);
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, second)).status));
    const status = await statusOf(challenge, second);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.failureReason)).toMatch(/^The workflow exited with code/);
  });

  it('an engine image that cannot be pulled: INVALID, DOCKER PULL FAILED, the admin told, the daemon goes on', async () => {
    const broken = await startOrchestrator(challenge, {
      WORKFLOW_ENGINE_DOCKER_IMAGE: 'local/no-such-engine:1',
    });
    const queue = challenge.queues[0]?.evaluationId ?? '';
    const id = await submitFile(challenge, queue);
    await broken.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 60_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DOCKER PULL FAILED');
    expect(readString(status, ANNOTATIONS.failureReason)).toContain('local/no-such-engine:1');
    const messages = await challenge.tp.admin.messages();
    expect(messages.some((m) => m.body.includes('local/no-such-engine:1'))).toBe(true);

    // The same daemon keeps going: the next tick runs normally.
    const next = await submitFile(challenge, queue);
    await broken.tickUntil(async () => FINAL.has((await statusOf(challenge, next)).status), 60_000);
    expect((await statusOf(challenge, next)).status).toBe('INVALID');
    const about = (await challenge.tp.admin.messages()).filter(
      (m) =>
        m.recipients.includes(challenge.tp.orchestrator.ownerId) && m.body.includes('local/no-such-engine:1'),
    );
    expect(about.map((m) => m.subject)).toEqual(['Submission Pipeline Failed']); // one problem, one message
  });
});
