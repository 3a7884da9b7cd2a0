/**
 * Local platform routes for organizers and submitters: creating an evaluation queue (POST /evaluation),
 * finding one by name (GET /evaluation/name/{name}), its ACL (GET /evaluation/{id}/acl, PUT
 * /evaluation/acl), a team's submission eligibility (GET
 * /evaluation/{id}/team/{teamId}/submissionEligibility), and deleting a submission (DELETE
 * /evaluation/submission/{id}). The access checks are in access-checks.ts, Docker
 * commits in docker-commits.ts.
 */
import { createHash } from 'node:crypto';
import { PRINCIPALS, type AccessControlList, type AccessType, type Evaluation } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { normalizeEntityId, optionalString, requireBody, requireEntity } from '../entities.js';
import { badRequest, conflict, forbidden, notFound, preconditionFailed } from '../errors.js';
import { canAccessEntity, canAccessEvaluation, EVALUATION_ADMIN } from '../permissions.js';
import type { PlatformState, StoredEvaluation } from '../state.js';
import { PlatformStore } from '../store.js';
import { validateEntry } from './acl.js';

function requireEvaluation(state: PlatformState, id: string): StoredEvaluation {
  const evaluation = state.evaluations[id];
  if (evaluation === undefined) throw notFound(`Evaluation ${id} does not exist.`);
  return evaluation;
}

function view(evaluation: StoredEvaluation): Evaluation {
  const { permissions: _permissions, aclEtag: _aclEtag, ...rest } = evaluation;
  return rest;
}

/** The evaluation's ACL as Synapse shows it: the owner with the admin set, then every grant. */
function aclOf(evaluation: StoredEvaluation): AccessControlList {
  const grants = new Map<string, Set<AccessType>>([[evaluation.ownerId, new Set(EVALUATION_ADMIN)]]);
  for (const [principal, access] of Object.entries(evaluation.permissions)) {
    const set = grants.get(principal) ?? new Set<AccessType>();
    for (const type of access) set.add(type);
    grants.set(principal, set);
  }
  return {
    id: evaluation.id,
    etag: evaluation.aclEtag ?? evaluation.etag,
    creationDate: evaluation.createdOn,
    resourceAccess: [...grants].map(([principalId, access]) => ({
      principalId: Number(principalId),
      accessType: [...access],
    })),
  };
}

export const registerEvaluationAdminRoutes: RouteModule = (app, { store }) => {
  app.get<{ Params: { name: string } }>('/repo/v1/evaluation/name/:name', (request) => {
    const name = request.params.name;
    const evaluation = Object.values(store.state.evaluations).find((e) => e.name === name);
    // Synapse answers 404 both when there is none and when the caller may not read it.
    if (
      evaluation === undefined ||
      !canAccessEvaluation(store.state, evaluation.id, request.principalId, 'READ')
    ) {
      throw notFound(`No Evaluation found with name ${name}`);
    }
    return view(evaluation);
  });

  app.get<{ Params: { evalId: string; teamId: string } }>(
    '/repo/v1/evaluation/:evalId/team/:teamId/submissionEligibility',
    (request) => {
      const state = store.state;
      const evaluation = requireEvaluation(state, request.params.evalId);
      if (!canAccessEvaluation(state, evaluation.id, request.principalId, 'SUBMIT')) {
        throw forbidden(
          `User ${request.principalId} lacks SUBMIT permission on evaluation ${evaluation.id}.`,
        );
      }
      const team = state.teams[request.params.teamId];
      if (team === undefined) throw notFound(`Team ${request.params.teamId} does not exist.`);
      // No challenge registration or quotas here: every member of the team may take part.
      const members = [...team.members].sort();
      const hash = createHash('sha256')
        .update(`${evaluation.id}/${team.id}/${members.join(',')}`)
        .digest();
      return {
        teamId: team.id,
        evaluationId: evaluation.id,
        teamEligibility: { isEligible: true, isRegistered: true, isQuotaFilled: false },
        membersEligibility: members.map((principalId) => ({
          principalId: Number(principalId),
          isEligible: true,
          isRegistered: true,
          isQuotaFilled: false,
          hasConflictingSubmission: false,
        })),
        eligibilityStateHash: hash.readUInt32BE(0),
      };
    },
  );

  app.post('/repo/v1/evaluation', (request, reply) => {
    const state = store.state;
    const body = requireBody(request.body);
    const name = optionalString(body, 'name');
    if (name === undefined || name.trim() === '') throw badRequest('name is required.');
    const rawSource = optionalString(body, 'contentSource');
    if (rawSource === undefined) throw badRequest('contentSource is required.');
    const contentSource = normalizeEntityId(rawSource);
    requireEntity(state, contentSource);
    if (!canAccessEntity(state, contentSource, request.principalId, 'CREATE')) {
      throw forbidden(`You lack CREATE permission on the requested entity: ${contentSource}.`);
    }
    if (Object.values(state.evaluations).some((e) => e.name === name)) {
      throw conflict(`An evaluation with the name '${name}' already exists.`);
    }
    const description = optionalString(body, 'description');
    const instructions = optionalString(body, 'submissionInstructionsMessage');
    const receipt = optionalString(body, 'submissionReceiptMessage');
    const evaluation = store.change((draft) => {
      const created: StoredEvaluation = {
        id: store.nextId(),
        etag: PlatformStore.etag(),
        name,
        ownerId: request.principalId,
        createdOn: PlatformStore.now(),
        contentSource,
        ...(description === undefined ? {} : { description }),
        ...(instructions === undefined ? {} : { submissionInstructionsMessage: instructions }),
        ...(receipt === undefined ? {} : { submissionReceiptMessage: receipt }),
        permissions: {},
      };
      draft.evaluations[created.id] = created;
      return created;
    });
    return reply.code(201).send(view(evaluation));
  });

  app.get<{ Params: { evalId: string } }>('/repo/v1/evaluation/:evalId/acl', (request) => {
    const evaluation = requireEvaluation(store.state, request.params.evalId);
    if (!canAccessEvaluation(store.state, evaluation.id, request.principalId, 'READ')) {
      throw forbidden(`User ${request.principalId} lacks READ permission on evaluation ${evaluation.id}.`);
    }
    return aclOf(evaluation);
  });

  app.put('/repo/v1/evaluation/acl', (request) => {
    const body = requireBody(request.body);
    const id = optionalString(body, 'id');
    if (id === undefined) throw badRequest('The ACL needs the id of its evaluation.');
    const evaluation = requireEvaluation(store.state, id);
    if (!canAccessEvaluation(store.state, id, request.principalId, 'CHANGE_PERMISSIONS')) {
      throw forbidden(`User ${request.principalId} lacks CHANGE_PERMISSIONS permission on evaluation ${id}.`);
    }
    if (optionalString(body, 'etag') !== aclOf(evaluation).etag)
      throw preconditionFailed('E-tags do not match.');
    if (!Array.isArray(body.resourceAccess)) throw badRequest('resourceAccess is required.');
    const permissions: Record<string, AccessType[]> = {};
    for (const raw of body.resourceAccess as unknown[]) {
      const entry = validateEntry(raw);
      if (entry.principalId === PRINCIPALS.anonymous) {
        throw badRequest(`The anonymous user (${PRINCIPALS.anonymous}) cannot be given access.`);
      }
      const key = String(entry.principalId);
      permissions[key] = [...new Set([...(permissions[key] ?? []), ...entry.accessType])];
    }
    const updated = store.change((draft) => {
      const stored = requireEvaluation(draft, id);
      stored.permissions = permissions;
      stored.aclEtag = PlatformStore.etag();
      return stored;
    });
    return aclOf(updated);
  });

  // syn.delete(submission), e.g. challengeutils' delete_submission: the submission and its status go.
  app.delete<{ Params: { subId: string } }>('/repo/v1/evaluation/submission/:subId', (request, reply) => {
    const state = store.state;
    const submission = state.submissions[request.params.subId];
    if (submission === undefined) throw notFound(`Submission ${request.params.subId} does not exist.`);
    if (!canAccessEvaluation(state, submission.evaluationId, request.principalId, 'DELETE_SUBMISSION')) {
      throw forbidden(
        `User ${request.principalId} lacks DELETE_SUBMISSION permission on evaluation ${submission.evaluationId}.`,
      );
    }
    store.change((draft) => {
      Reflect.deleteProperty(draft.submissions, submission.id);
      Reflect.deleteProperty(draft.statuses, submission.id);
    });
    return reply.code(204).send();
  });
};
