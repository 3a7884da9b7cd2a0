/** Which right a refused log upload needed, and how the organizers are told about it. */
import { describe, expect, it } from 'vitest';
import { describeLostRight, rightNeeded } from '../../../src/evaluation/lost-rights.js';
import { SynapseError } from '../../../src/synapse/errors.js';

const refused = (method: string, path: string) =>
  new SynapseError({ status: 403, reason: 'denied', method, path });

describe('rightNeeded', () => {
  it('maps each request of the upload to the right and the entity it needs', () => {
    expect(rightNeeded(refused('POST', '/repo/v1/entity'), 'syn10')).toEqual({
      right: 'CREATE',
      entityId: 'syn10',
    });
    expect(rightNeeded(refused('POST', '/repo/v1/entity/child'), 'syn10')).toEqual({
      right: 'READ',
      entityId: 'syn10',
    });
    expect(rightNeeded(refused('PUT', '/repo/v1/entity/syn11'), 'syn10')).toEqual({
      right: 'UPDATE',
      entityId: 'syn11',
    });
    expect(rightNeeded(refused('GET', '/repo/v1/entity/syn11'), 'syn10')).toEqual({
      right: 'READ',
      entityId: 'syn11',
    });
  });

  it('file uploads and other calls are not about the folder: no right named', () => {
    expect(rightNeeded(refused('POST', '/file/v1/file/multipart'), 'syn10')).toBeUndefined();
    expect(rightNeeded(refused('GET', '/repo/v1/entity/syn11/acl'), 'syn10')).toBeUndefined();
  });
});

describe('describeLostRight', () => {
  it('names the right, the folder, the account, what it lacks and where the ACL now is', () => {
    const text = describeLostRight({
      right: 'CREATE',
      entityId: 'syn10',
      folderId: 'syn10',
      account: { principalId: '3000001', userName: 'orchestrator-bot' },
      missing: ['CREATE', 'UPDATE'],
      aclOn: 'syn10',
    });
    expect(text).toContain(
      "The orchestrator's account orchestrator-bot (3000001) no longer has CREATE on folder syn10",
    );
    expect(text).toContain('it lacks CREATE, UPDATE');
    expect(text).toContain('Folder syn10 now has permissions of its own');
    expect(text).toContain('organizersId');
  });

  it('a new version refused: the log file and its folder; unknowns left out', () => {
    const text = describeLostRight({
      right: 'UPDATE',
      entityId: 'syn11',
      folderId: 'syn10',
      account: undefined,
      missing: undefined,
      aclOn: undefined,
    });
    expect(text).toContain(
      "The orchestrator's account no longer has UPDATE on syn11, the log file in folder syn10",
    );
    expect(text).not.toContain('lacks');
    expect(text).not.toContain('permissions of its own');
  });
});
