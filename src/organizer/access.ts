/**
 * Granting access for the organizer commands: who a principal id is (user, team or a well-known group),
 * and adding access types to an evaluation's or an entity's ACL without taking any away. Each write is a
 * read-merge-write that starts again when someone else wrote in between (412, or an ACL that appeared).
 */
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError, type SynapseError } from '../synapse/errors.js';
import { PRINCIPALS, type AccessType, type ResourceAccess } from '../synapse/types.js';
import { UsageError, failure } from './errors.js';

export interface Principal {
  id: string;
  kind: 'user' | 'team' | 'group';
  /** A user's userName, a team's name, or the group's description. */
  name: string;
}

/** What the orchestrator's account needs on a queue (synapse-rest.md §6). */
export const ORCHESTRATOR_QUEUE_ACCESS: readonly AccessType[] = [
  'READ',
  'READ_PRIVATE_SUBMISSION',
  'UPDATE_SUBMISSION',
];
/** What the orchestrator's account needs on the output root. */
export const ORCHESTRATOR_OUTPUT_ACCESS: readonly AccessType[] = [
  'CREATE',
  'READ',
  'UPDATE',
  'DOWNLOAD',
  'CHANGE_PERMISSIONS',
];
/** What the orchestrator's account needs on the template (and the rest of the project): reading it. */
export const ORCHESTRATOR_PROJECT_ACCESS: readonly AccessType[] = ['READ', 'DOWNLOAD'];
/** What a participant needs on a queue to submit to it. */
export const SUBMITTER_ACCESS: readonly AccessType[] = ['READ', 'SUBMIT'];

const GROUPS: Readonly<Record<string, string>> = {
  [String(PRINCIPALS.authenticatedUsers)]: 'every signed-in user (AUTHENTICATED_USERS)',
  [String(PRINCIPALS.public)]: 'everyone (PUBLIC)',
};

const WRITE_ATTEMPTS = 5;

/** The user or team `id` names; anything else is a UsageError naming `option`. */
export async function describePrincipal(
  client: SynapseClient,
  id: string,
  option: string,
  allowTeams = true,
): Promise<Principal> {
  if (!/^\d+$/.test(id)) {
    throw new UsageError(
      `${option} ${JSON.stringify(id)}: expected a numeric user or team id, like 3345678.`,
    );
  }
  const group = GROUPS[id];
  if (group !== undefined && allowTeams) return { id, kind: 'group', name: group };
  try {
    const user = await client.profiles.user(id);
    return { id, kind: 'user', name: user.userName };
  } catch (error) {
    if (!isSynapseError(error, 404)) throw failure(`Looking up user ${id}`, error);
  }
  if (allowTeams) {
    try {
      const team = await client.profiles.team(id);
      return { id, kind: 'team', name: team.name };
    } catch (error) {
      if (!isSynapseError(error, 404)) throw failure(`Looking up team ${id}`, error);
    }
  }
  throw new UsageError(`${option} ${id}: there is no ${allowTeams ? 'user or team' : 'user'} with that id.`);
}

/** `entries` with `access` added for `principalId`; `changed` says whether anything was added. */
export function withAccess(
  entries: readonly ResourceAccess[],
  principalId: string,
  access: readonly AccessType[],
): { entries: ResourceAccess[]; changed: boolean } {
  const id = Number(principalId);
  const held = new Set(entries.filter((e) => e.principalId === id).flatMap((e) => e.accessType));
  const missing = access.filter((type) => !held.has(type));
  if (missing.length === 0) return { entries: [...entries], changed: false };
  const others = entries.filter((e) => e.principalId !== id);
  return { entries: [...others, { principalId: id, accessType: [...held, ...missing] }], changed: true };
}

function raced(error: unknown): error is SynapseError {
  return (
    isSynapseError(error, 412) || (isSynapseError(error, 403) && /already has an ACL/i.test(error.reason))
  );
}

/** Adds the grants to the queue's ACL; true when it changed. */
export async function grantEvaluationAccess(
  client: SynapseClient,
  evaluationId: string,
  grants: readonly { principalId: string; access: readonly AccessType[] }[],
): Promise<boolean> {
  let lastRace: unknown;
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    try {
      const acl = await client.evaluations.getAcl(evaluationId);
      let entries = acl.resourceAccess;
      let changed = false;
      for (const grant of grants) {
        const next = withAccess(entries, grant.principalId, grant.access);
        entries = next.entries;
        changed ||= next.changed;
      }
      if (!changed) return false;
      await client.evaluations.updateAcl({ ...acl, resourceAccess: entries });
      return true;
    } catch (error) {
      if (!raced(error)) throw failure(`Granting access to evaluation ${evaluationId}`, error);
      lastRace = error;
    }
  }
  throw failure(`Granting access to evaluation ${evaluationId}`, lastRace);
}

/**
 * Adds `access` for `principalId` on the entity. An entity that inherits its permissions first gets an
 * ACL of its own, copied from its benefactor's, so nobody loses access.
 */
export async function grantEntityAccess(
  client: SynapseClient,
  entityId: string,
  principalId: string,
  access: readonly AccessType[],
): Promise<boolean> {
  let lastRace: unknown;
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    try {
      const own = await client.acl.get(entityId);
      if (own === undefined) {
        const benefactor = await client.acl.benefactor(entityId);
        const inherited = await client.acl.get(benefactor.id);
        const next = withAccess(inherited?.resourceAccess ?? [], principalId, access);
        if (!next.changed) return false;
        await client.acl.create(entityId, next.entries);
        return true;
      }
      const next = withAccess(own.resourceAccess, principalId, access);
      if (!next.changed) return false;
      await client.acl.update({ ...own, resourceAccess: next.entries });
      return true;
    } catch (error) {
      if (!raced(error)) throw failure(`Granting access to ${entityId}`, error);
      lastRace = error;
    }
  }
  throw failure(`Granting access to ${entityId}`, lastRace);
}
