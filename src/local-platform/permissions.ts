/**
 * Who may do what on the local platform. Entities follow Synapse's benefactor rule (the nearest entity,
 * itself included, that has an ACL decides); evaluations have their own permission table plus their owner.
 */
import type { AccessType } from '../synapse/types.js';
import { PRINCIPALS } from '../synapse/types.js';
import type { PlatformState } from './state.js';

/** The principals a user acts as: themselves, their teams, and everyone/authenticated users. */
export function principalsOf(state: PlatformState, userId: string): Set<string> {
  const principals = new Set([userId, String(PRINCIPALS.authenticatedUsers), String(PRINCIPALS.public)]);
  for (const team of Object.values(state.teams)) {
    if (team.members.includes(userId)) principals.add(team.id);
  }
  return principals;
}

/** The id of the entity whose ACL governs `entityId`, or undefined when the entity does not exist. */
export function benefactorOf(state: PlatformState, entityId: string): string | undefined {
  let current = state.entities[entityId];
  const seen = new Set<string>();
  while (current !== undefined && !seen.has(current.id)) {
    if (state.acls[current.id] !== undefined) return current.id;
    seen.add(current.id);
    current = current.parentId === undefined ? undefined : state.entities[current.parentId];
  }
  return undefined;
}

export function entityAccess(state: PlatformState, entityId: string, userId: string): Set<AccessType> {
  const benefactor = benefactorOf(state, entityId);
  const granted = new Set<AccessType>();
  if (benefactor === undefined) return granted;
  const principals = principalsOf(state, userId);
  for (const entry of state.acls[benefactor]?.resourceAccess ?? []) {
    if (principals.has(String(entry.principalId))) for (const access of entry.accessType) granted.add(access);
  }
  return granted;
}

export function canAccessEntity(
  state: PlatformState,
  entityId: string,
  userId: string,
  access: AccessType,
): boolean {
  return entityAccess(state, entityId, userId).has(access);
}

export const EVALUATION_ADMIN: readonly AccessType[] = [
  'CREATE',
  'READ',
  'SUBMIT',
  'READ_PRIVATE_SUBMISSION',
  'UPDATE_SUBMISSION',
  'CHANGE_PERMISSIONS',
  'UPDATE',
  'DELETE',
  'DELETE_SUBMISSION',
];

export function evaluationAccess(
  state: PlatformState,
  evaluationId: string,
  userId: string,
): Set<AccessType> {
  const evaluation = state.evaluations[evaluationId];
  const granted = new Set<AccessType>();
  if (evaluation === undefined) return granted;
  if (evaluation.ownerId === userId) for (const access of EVALUATION_ADMIN) granted.add(access);
  for (const principal of principalsOf(state, userId)) {
    for (const access of evaluation.permissions[principal] ?? []) granted.add(access);
  }
  return granted;
}

export function canAccessEvaluation(
  state: PlatformState,
  evaluationId: string,
  userId: string,
  access: AccessType,
): boolean {
  return evaluationAccess(state, evaluationId, userId).has(access);
}

/** What GET /entity/{id}/permissions (and a bundle's `permissions`) tells a user about an entity. */
export function userEntityPermissions(
  state: PlatformState,
  entityId: string,
  userId: string,
): Record<string, boolean | number> {
  const entity = state.entities[entityId];
  const granted = entityAccess(state, entityId, userId);
  const benefactor = benefactorOf(state, entityId);
  const publicRead = (state.acls[benefactor ?? '']?.resourceAccess ?? []).some(
    (entry) => entry.principalId === PRINCIPALS.public && entry.accessType.includes('READ'),
  );
  const hasOwnAcl = state.acls[entityId] !== undefined;
  return {
    canView: granted.has('READ'),
    canEdit: granted.has('UPDATE'),
    canMove: granted.has('UPDATE'),
    canAddChild: granted.has('CREATE'),
    // No certification here: every user counts as certified.
    canCertifiedUserEdit: granted.has('UPDATE'),
    canCertifiedUserAddChild: granted.has('CREATE'),
    isCertifiedUser: true,
    canChangePermissions: granted.has('CHANGE_PERMISSIONS'),
    canChangeSettings: granted.has('CHANGE_SETTINGS'),
    canDelete: granted.has('DELETE'),
    canDownload: granted.has('DOWNLOAD'),
    canUpload: granted.has('UPLOAD') || granted.has('CREATE'),
    canEnableInheritance: hasOwnAcl && entity?.parentId !== undefined && granted.has('CHANGE_PERMISSIONS'),
    ownerPrincipalId: Number(entity?.createdBy ?? 0),
    canPublicRead: publicRead,
    canModerate: granted.has('MODERATE'),
    isCertificationRequired: false,
    isEntityOpenData: false,
  };
}

/** What GET /evaluation/{id}/permissions tells a user about an evaluation queue. */
export function userEvaluationPermissions(
  state: PlatformState,
  evaluationId: string,
  userId: string,
): Record<string, boolean | number> {
  const evaluation = state.evaluations[evaluationId];
  const granted = evaluationAccess(state, evaluationId, userId);
  const publicAccess = evaluation?.permissions[String(PRINCIPALS.public)] ?? [];
  return {
    canView: granted.has('READ'),
    canEdit: granted.has('UPDATE'),
    canDelete: granted.has('DELETE'),
    canChangePermissions: granted.has('CHANGE_PERMISSIONS'),
    canParticipate: granted.has('PARTICIPATE') || granted.has('SUBMIT'),
    canSubmit: granted.has('SUBMIT'),
    canPublicRead: publicAccess.includes('READ'),
    ownerPrincipalId: Number(evaluation?.ownerId ?? 0),
    canViewPrivateSubmissionStatusAnnotations: granted.has('READ_PRIVATE_SUBMISSION'),
    canEditSubmissionStatuses: granted.has('UPDATE_SUBMISSION'),
    canDeleteSubmissions: granted.has('DELETE_SUBMISSION'),
  };
}
