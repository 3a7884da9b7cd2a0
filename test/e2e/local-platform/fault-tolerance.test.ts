/**
 * The client under a hostile network: with 30% of requests answered by 429, 503 or a dropped connection,
 * an orchestrator's whole sequence of calls still succeeds, and nothing is created twice.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SynapseClient } from '../../../src/synapse/client.js';
import { ENTITY_ADMIN_ACCESS } from '../../../src/synapse/types.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

const P = 'orgSagebionetworksSynapseWorkflowOrchestrator';

describe.each([20261121, 7, 424242])(
  '30%% of requests fail (429, 503, dropped connections), fault seed %i',
  (seed) => {
    let t: TestPlatform;
    beforeAll(async () => {
      t = await startTestPlatform({ faultSeed: seed });
    });
    afterAll(() => t.close());

    it('claim, folders, ACL, upload, new version, message and final status all succeed, with no duplicates', async () => {
      const organizer = await t.admin.createUser({ userName: 'organizer' });
      const participant = await t.admin.createUser({ userName: 'participant', firstName: 'Pat' });
      const root = await t.admin.createProject('Challenge output', t.orchestrator.ownerId);
      const queue = await t.admin.createEvaluation({
        name: 'Queue',
        ownerId: organizer.ownerId,
        permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
      });
      const submission = await t.admin.createSubmission({
        evaluationId: queue.id,
        userId: participant.ownerId,
        file: { name: 'prediction.csv', contentBase64: Buffer.from('id,p\n1,0.3\n').toString('base64') },
      });
      const work = mkdtempSync(join(tmpdir(), 'faults-'));
      const firstLog = join(work, 'log-1.zip');
      const secondLog = join(work, 'log-2.zip');
      writeFileSync(firstLog, randomBytes(6 * 1024 * 1024)); // two parts
      writeFileSync(secondLog, randomBytes(300 * 1024));

      // Three independent 10% faults on every Synapse and object-store route: 30% of requests in all.
      const everything = '^/(repo|file)/v1/|^/s3/';
      await t.admin.addFault({
        path: everything,
        status: 429,
        rate: 0.1,
        reason: 'Requests are too frequent.',
      });
      await t.admin.addFault({ path: everything, status: 503, rate: 0.1 / 0.9 });
      await t.admin.addFault({ path: everything, drop: true, rate: 0.1 / 0.8 });

      let retries = 0;
      const client = new SynapseClient({
        endpoint: t.endpoint,
        token: t.orchestrator.token,
        retry: FAST_RETRY,
        retryHooks: { onRetry: () => (retries += 1) },
        messages: {
          limit: 100,
          windowMs: 1_000,
          sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
        },
      });

      // The orchestrator's sequence for one submission.
      const received = await client.evaluations.bundles(queue.id, 'RECEIVED');
      expect(received.items.map((b) => b.submission.id)).toContain(submission.id);
      const claim = await client.evaluations.updateStatus(
        submission.id,
        {
          status: 'EVALUATION_IN_PROGRESS',
          canCancel: true,
          cancelRequested: false,
          set: [{ key: `${P}WorkflowJobId`, type: 'STRING', value: 'job-1', isPrivate: false }],
        },
        { precondition: (s) => s.status === 'RECEIVED' },
      );
      expect(claim.applied).toBe(true);
      const submitterFolder = await client.entities.getOrCreateFolder(root.id, participant.ownerId);
      const lockedFolder = await client.entities.getOrCreateFolder(root.id, `${participant.ownerId}_LOCKED`);
      const submissionFolder = await client.entities.getOrCreateFolder(submitterFolder, submission.id);
      await client.entities.getOrCreateFolder(lockedFolder, submission.id);
      await client.acl.ensure(submitterFolder, [
        { principalId: Number(t.orchestrator.ownerId), accessType: [...ENTITY_ADMIN_ACCESS] },
        { principalId: Number(participant.ownerId), accessType: ['READ', 'DOWNLOAD'] },
      ]);
      const firstHandle = await client.files.uploadFile(firstLog, { contentType: 'application/zip' });
      await client.entities.createOrUpdateFile(submissionFolder, `${submission.id}_logs.zip`, firstHandle.id);
      const secondHandle = await client.files.uploadFile(secondLog, { contentType: 'application/zip' });
      const logs = await client.entities.createOrUpdateFile(
        submissionFolder,
        `${submission.id}_logs.zip`,
        secondHandle.id,
      );
      await client.messages.send({
        recipients: [participant.ownerId],
        subject: 'Workflow Complete',
        body: 'Your submission was scored.',
      });
      const final = await client.evaluations.updateStatus(submission.id, {
        status: 'ACCEPTED',
        canCancel: false,
        set: [{ key: `${P}StatusDescription`, type: 'STRING', value: 'COMPLETED', isPrivate: false }],
      });
      expect(final.status.status).toBe('ACCEPTED');

      await t.admin.clearFaults();
      // The faults really happened, and the client rode them out.
      expect(retries).toBeGreaterThan(5);
      console.log(`fault seed ${seed}: the client retried ${retries} times`);

      // Nothing was created twice.
      const dump = await t.admin.dump();
      const entities = Object.values(dump.entities);
      const names = entities.map((e) => `${e.parentId ?? ''}/${e.name}`);
      expect(new Set(names).size).toBe(names.length);
      const underRoot = entities
        .filter((e) => e.parentId === root.id)
        .map((e) => e.name)
        .sort();
      expect(underRoot).toEqual([participant.ownerId, `${participant.ownerId}_LOCKED`].sort());
      expect(entities.filter((e) => e.name === `${submission.id}_logs.zip`)).toHaveLength(1);
      expect(logs.versionNumber).toBe(2);
      expect(dump.entities[logs.id]?.versionNumber).toBe(2);
      const sent = (await t.admin.messages()).filter((m) => m.subject === 'Workflow Complete');
      expect(sent).toHaveLength(1);
      expect(sent[0]?.body).toBe('Your submission was scored.');
      expect(dump.acls[submitterFolder]?.resourceAccess).toHaveLength(2);
      const status = dump.statuses[submission.id];
      expect(status?.status).toBe('ACCEPTED');
      expect(status?.submissionAnnotations[`${P}WorkflowJobId`]?.value).toEqual(['job-1']);
    });
  },
);
