/**
 * Real CWL, as organizers ship it: a GitHub "Download ZIP" template whose two-step workflow declares
 * exactly Sage's inputs and runs its steps as sibling containers through the Docker socket; once with
 * cwltool and once with SWO's own toil-cwl-runner command. Also what the orchestrator builds around a run:
 * the submitter's folders and their ACLs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { ENTITY_ADMIN_ACCESS } from '../../../src/synapse/types.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  FIXTURES,
  TOIL_ENGINE_IMAGE,
  containersOf,
  filesOf,
  setUpChallenge,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

const PREFIX = 'challenge-template-main/';

describeWithDocker('real CWL workflows', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        archive: await zipFiles(filesOf(join(FIXTURES, 'two-step'), PREFIX)),
        rootTemplate: `${PREFIX}workflow.cwl`,
      },
      {
        archive: await zipFiles(filesOf(join(FIXTURES, 'failing-step'), PREFIX)),
        rootTemplate: `${PREFIX}workflow.cwl`,
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';

  it('cwltool: the two-step workflow ends ACCEPTED; a failing step ends INVALID; no step container remains', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const ok = await submitFile(challenge, queue(0), { asTeam: true });
    const failing = await submitFile(challenge, queue(1));
    await orchestrator.tickUntil(async () =>
      (await Promise.all([ok, failing].map((id) => statusOf(challenge, id)))).every((s) =>
        FINAL.has(s.status),
      ),
    );
    expect((await statusOf(challenge, ok)).status).toBe('ACCEPTED');
    const failed = await statusOf(challenge, failing);
    expect(failed.status).toBe('INVALID');
    expect(readString(failed, ANNOTATIONS.failureReason)).toMatch(/^The workflow exited with code [1-9]/);
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
  });

  it("the submitter's folders: <root>/<team>/<submission> readable, <root>/<team>_LOCKED/<submission> only visible", async () => {
    const { client, outputRootId, team, tp } = challenge;
    const shared = await client.entities.lookupChild(outputRootId, team.id);
    const locked = await client.entities.lookupChild(outputRootId, `${team.id}_LOCKED`);
    expect(shared).toBeDefined();
    expect(locked).toBeDefined();
    const sharedAcl = await client.acl.get(shared ?? '');
    const lockedAcl = await client.acl.get(locked ?? '');
    const grants = (acl: typeof sharedAcl) =>
      Object.fromEntries(
        (acl?.resourceAccess ?? []).map((r) => [String(r.principalId), [...r.accessType].sort()]),
      );
    expect(grants(sharedAcl)).toEqual({
      [tp.orchestrator.ownerId]: [...ENTITY_ADMIN_ACCESS].sort(),
      [team.id]: ['DOWNLOAD', 'READ'],
    });
    expect(grants(lockedAcl)).toEqual({
      [tp.orchestrator.ownerId]: [...ENTITY_ADMIN_ACCESS].sort(),
      [team.id]: ['READ'],
    });
    const children = await client.entities.listChildren(shared ?? '');
    expect(children.length).toBeGreaterThan(0);
  });

  it("toil-cwl-runner (SWO's command and TOIL_CLI_OPTIONS): the same workflow ends ACCEPTED", async () => {
    const orchestrator = await startOrchestrator(challenge, {
      WORKFLOW_ENGINE_DOCKER_IMAGE: TOIL_ENGINE_IMAGE,
      WORKFLOW_ENGINE_COMMAND: 'toil-cwl-runner',
      TOIL_CLI_OPTIONS: '--defaultMemory 100M --retryCount 0 --defaultDisk 1G',
    });
    const id = await submitFile(challenge, queue(0));
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 180_000);
    const status = await statusOf(challenge, id);
    expect(readString(status, ANNOTATIONS.failureReason)).toBeUndefined();
    expect(status.status).toBe('ACCEPTED');
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
  }, 200_000);
});
