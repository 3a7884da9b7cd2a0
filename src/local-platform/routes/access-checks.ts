/**
 * Local platform routes: the "may I?" checks Synapse answers with a BooleanResult, which `validate` relies
 * on to check the orchestrator's rights without changing anything (GET /evaluation/{id}/access,
 * GET /entity/{id}/access), and the caller's whole permission set on a queue (GET
 * /evaluation/{id}/permissions; the entity form is in entity-info.ts).
 */
import type { AccessType } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { normalizeEntityId, requireEntity } from '../entities.js';
import { badRequest, notFound } from '../errors.js';
import { canAccessEntity, canAccessEvaluation, userEvaluationPermissions } from '../permissions.js';
import { ACCESS_TYPES } from './acl.js';

type AccessQuery = { accessType?: string };

function accessTypeOf(query: AccessQuery): AccessType {
  const accessType = query.accessType;
  if (accessType === undefined || accessType === '') throw badRequest('accessType is required.');
  if (!ACCESS_TYPES.has(accessType)) throw badRequest(`Unknown access type: ${accessType}`);
  return accessType as AccessType;
}

export const registerAccessCheckRoutes: RouteModule = (app, { store }) => {
  app.get<{ Params: { evalId: string }; Querystring: AccessQuery }>(
    '/repo/v1/evaluation/:evalId/access',
    (request) => {
      const accessType = accessTypeOf(request.query);
      const evaluationId = request.params.evalId;
      if (store.state.evaluations[evaluationId] === undefined) {
        throw notFound(`Evaluation ${evaluationId} does not exist.`);
      }
      return { result: canAccessEvaluation(store.state, evaluationId, request.principalId, accessType) };
    },
  );

  app.get<{ Params: { evalId: string } }>('/repo/v1/evaluation/:evalId/permissions', (request) => {
    const evaluationId = request.params.evalId;
    if (store.state.evaluations[evaluationId] === undefined) {
      throw notFound(`Evaluation ${evaluationId} does not exist.`);
    }
    return userEvaluationPermissions(store.state, evaluationId, request.principalId);
  });

  app.get<{ Params: { id: string }; Querystring: AccessQuery }>('/repo/v1/entity/:id/access', (request) => {
    const accessType = accessTypeOf(request.query);
    const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
    return { result: canAccessEntity(store.state, entity.id, request.principalId, accessType) };
  });
};
