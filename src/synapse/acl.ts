/**
 * The ACL part of the Synapse client (synapse-rest.md §6). Synapse answers "this entity has no ACL of its
 * own" with a 404, so `get` turns exactly that 404 into undefined; and `ensure` makes an entity's ACL what
 * the orchestrator wants it to be, whether it inherits, matches, or has drifted.
 */
import { isSynapseError, type SynapseError } from './errors.js';
import type { SynapseHttp } from './http.js';
import type { AccessControlList, EntityHeader, ResourceAccess } from './types.js';

/** What `ensure` found and did. */
export type AclOutcome = 'created' | 'unchanged' | 'corrected';

/** Synapse's 404 reason when the entity exists but inherits its permissions. */
const INHERITS = /This entity inherits its permissions/;
/** Synapse's 403 reason when creating an ACL the entity already has. */
const ALREADY_HAS_ACL = /Resource already has an ACL/;

/** Rounds of read-then-write in `ensure` before a racing writer wins. */
const MAX_ENSURE_ATTEMPTS = 5;

/** principalId -> access types, merging duplicate entries, for comparing ACLs as sets. */
function accessByPrincipal(entries: readonly ResourceAccess[]): Map<number, Set<string>> {
  const map = new Map<number, Set<string>>();
  for (const entry of entries) {
    if (entry.accessType.length === 0) continue;
    const access = map.get(entry.principalId) ?? new Set<string>();
    for (const type of entry.accessType) access.add(type);
    map.set(entry.principalId, access);
  }
  return map;
}

export function sameResourceAccess(a: readonly ResourceAccess[], b: readonly ResourceAccess[]): boolean {
  const left = accessByPrincipal(a);
  const right = accessByPrincipal(b);
  if (left.size !== right.size) return false;
  for (const [principalId, access] of left) {
    const other = right.get(principalId);
    if (other === undefined || other.size !== access.size) return false;
    for (const type of access) if (!other.has(type)) return false;
  }
  return true;
}

export class AclApi {
  constructor(private readonly http: SynapseHttp) {}

  /** The entity's own ACL, or undefined when it inherits one. A missing entity still throws (404). */
  async get(entityId: string): Promise<AccessControlList | undefined> {
    try {
      return await this.http.request<AccessControlList>({
        api: 'repo',
        method: 'GET',
        path: `/entity/${encodeURIComponent(entityId)}/acl`,
      });
    } catch (error) {
      if (isSynapseError(error, 404) && INHERITS.test(error.reason)) return undefined;
      throw error;
    }
  }

  /** Gives an inheriting entity its own ACL (403 "already has an ACL" when it has one). */
  create(entityId: string, resourceAccess: readonly ResourceAccess[]): Promise<AccessControlList> {
    return this.http.request<AccessControlList>({
      api: 'repo',
      method: 'POST',
      path: `/entity/${encodeURIComponent(entityId)}/acl`,
      body: { id: entityId, resourceAccess },
    });
  }

  /** Replaces an existing ACL; `acl.etag` must be the current one (412 otherwise). */
  update(acl: AccessControlList): Promise<AccessControlList> {
    return this.http.request<AccessControlList>({
      api: 'repo',
      method: 'PUT',
      path: `/entity/${encodeURIComponent(acl.id)}/acl`,
      body: acl,
    });
  }

  /** The entity whose ACL governs `entityId` (itself when it has its own). */
  benefactor(entityId: string): Promise<EntityHeader> {
    return this.http.request<EntityHeader>({
      api: 'repo',
      method: 'GET',
      path: `/entity/${encodeURIComponent(entityId)}/benefactor`,
    });
  }

  /**
   * Makes the entity's own ACL grant exactly `desired` (compared as sets): creates it when the entity
   * inherits, replaces it when it differs, leaves it alone when it matches. A create that finds an ACL
   * already there (a racing writer, or a retried POST that had succeeded) and an update that finds a newer
   * etag both start again from a fresh read.
   */
  async ensure(entityId: string, desired: readonly ResourceAccess[]): Promise<AclOutcome> {
    let lastConflict: SynapseError | undefined;
    for (let attempt = 1; attempt <= MAX_ENSURE_ATTEMPTS; attempt++) {
      const current = await this.get(entityId);
      try {
        if (current === undefined) {
          await this.create(entityId, desired);
          return 'created';
        }
        if (sameResourceAccess(current.resourceAccess, desired)) return 'unchanged';
        await this.update({ ...current, resourceAccess: [...desired] });
        return 'corrected';
      } catch (error) {
        const raced =
          (isSynapseError(error, 403) && ALREADY_HAS_ACL.test(error.reason)) || isSynapseError(error, 412);
        if (!raced) throw error;
        lastConflict = error;
      }
    }
    throw lastConflict as SynapseError;
  }
}
