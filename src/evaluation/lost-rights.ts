/**
 * A log upload refused with 403: which right the orchestrator's account is missing, on which entity.
 *
 * The orchestrator gives itself full control of the submitter folders, and a submission's folders inherit
 * it. A workflow runs with the orchestrator's own token, so it can take those rights away: Sage's templates
 * start with a set-permissions step that gives `organizersId` download access to `submitterUploadSynId`
 * and `adminUploadSynId`, and when `organizersId` is the orchestrator's account, that step replaces the
 * account's full control with READ and DOWNLOAD. The next log upload is then refused. This tells the
 * organizers exactly that, instead of a bare "upload failed".
 */
import { isSynapseError, type SynapseError } from '../synapse/errors.js';
import type { SynapseClient } from '../synapse/client.js';
import type { AccessType } from '../synapse/types.js';

/** What storing the log zip needs on its folder: find it (READ), add it (CREATE), add a version (UPDATE). */
export const LOG_UPLOAD_RIGHTS: readonly AccessType[] = ['READ', 'CREATE', 'UPDATE'];

export interface LostRight {
  /** The right the refused request needed, and the entity it needed it on. */
  right: AccessType;
  entityId: string;
  /** The folder the log goes to. */
  folderId: string;
  account: { principalId: string; userName: string } | undefined;
  /** Of LOG_UPLOAD_RIGHTS, those the account no longer holds on the folder; undefined when unknown. */
  missing: AccessType[] | undefined;
  /** The entity whose ACL governs the folder now; undefined when it could not be read. */
  aclOn: string | undefined;
}

const ENTITY_PATH = /^\/repo\/v1\/entity\/(syn\d+|\d+)$/;

/** The right a refused request of the upload needed, read from its method and path. */
export function rightNeeded(
  error: SynapseError,
  folderId: string,
): { right: AccessType; entityId: string } | undefined {
  const entityId = ENTITY_PATH.exec(error.path)?.[1];
  if (error.method === 'POST' && error.path === '/repo/v1/entity')
    return { right: 'CREATE', entityId: folderId };
  if (error.method === 'POST' && error.path === '/repo/v1/entity/child')
    return { right: 'READ', entityId: folderId };
  if (entityId === undefined) return undefined;
  if (error.method === 'PUT') return { right: 'UPDATE', entityId };
  if (error.method === 'GET') return { right: 'READ', entityId };
  return undefined;
}

/** Undefined unless `error` is a 403 on one of the upload's entity requests; never throws. */
export async function diagnoseLostRight(
  client: SynapseClient,
  error: unknown,
  folderId: string,
): Promise<LostRight | undefined> {
  if (!isSynapseError(error, 403)) return undefined;
  const needed = rightNeeded(error, folderId);
  if (needed === undefined) return undefined;
  const quietly = <T>(promise: Promise<T>): Promise<T | undefined> => promise.catch(() => undefined);
  const [profile, held, benefactor] = await Promise.all([
    quietly(client.profiles.me()),
    Promise.all(LOG_UPLOAD_RIGHTS.map((right) => quietly(client.entities.hasAccess(folderId, right)))),
    quietly(client.acl.benefactor(folderId)),
  ]);
  const missing = held.some((has) => has === undefined)
    ? undefined
    : LOG_UPLOAD_RIGHTS.filter((_, index) => held[index] === false);
  return {
    ...needed,
    folderId,
    account: profile === undefined ? undefined : { principalId: profile.ownerId, userName: profile.userName },
    missing,
    aclOn: benefactor?.id,
  };
}

/** The organizers' explanation, several lines: what was refused, why, what to change. */
export function describeLostRight(lost: LostRight): string {
  const account =
    lost.account === undefined
      ? "The orchestrator's account"
      : `The orchestrator's account ${lost.account.userName} (${lost.account.principalId})`;
  const where =
    lost.entityId === lost.folderId
      ? `folder ${lost.folderId}`
      : `${lost.entityId}, the log file in folder ${lost.folderId}`;
  const lines = [`${account} no longer has ${lost.right} on ${where}, so the log could not be stored there.`];
  if (lost.missing !== undefined && lost.missing.length > 0) {
    lines.push(
      `Of the rights the log upload needs on folder ${lost.folderId}, it lacks ${lost.missing.join(', ')}.`,
    );
  }
  if (lost.aclOn === lost.folderId) {
    lines.push(
      `Folder ${lost.folderId} now has permissions of its own; the orchestrator creates it without any (it inherits the submitter folder's), so something changed them while the workflow ran.`,
    );
  } else if (lost.aclOn !== undefined) {
    lines.push(`The folder's permissions come from ${lost.aclOn}.`);
  }
  lines.push(
    "A workflow runs with the orchestrator's token: a step that sets permissions on submitterUploadSynId or adminUploadSynId (such as a set-permissions step for organizersId) replaces that account's own rights when it names that account. Point such a step at the organizers' team or another account, not the orchestrator's.",
  );
  return lines.join('\n');
}
