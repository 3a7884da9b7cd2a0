/** Local platform routes: evaluations, submissions and their statuses (synapse-rest.md §3). */
import type { Submission, SubmissionStatus } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { forbidden, notFound } from '../errors.js';
import { canAccessEvaluation } from '../permissions.js';
import { presignedDownloadUrl } from '../presign.js';
import type { PlatformState } from '../state.js';
import {
  createSubmission,
  paginate,
  parsePage,
  parseStatusFilter,
  replaceStatus,
  requireSubmission,
  statusView,
  touchStatus,
  type StatusPutBody,
  type SubmissionRequest,
} from '../submissions.js';

type PageQuery = { status?: string; limit?: string; offset?: string };

function requireEvaluationAccess(
  state: PlatformState,
  evaluationId: string,
  userId: string,
  access: 'READ' | 'READ_PRIVATE_SUBMISSION',
) {
  const evaluation = state.evaluations[evaluationId];
  if (evaluation === undefined) throw notFound(`Evaluation ${evaluationId} does not exist.`);
  if (!canAccessEvaluation(state, evaluationId, userId, access)) {
    throw forbidden(`User ${userId} lacks ${access} permission on evaluation ${evaluationId}.`);
  }
  return evaluation;
}

/** The evaluation's submissions with the given status (or all), in submission id order. */
function submissionsOf(state: PlatformState, evaluationId: string, query: PageQuery): Submission[] {
  const status = parseStatusFilter(query.status);
  return Object.values(state.submissions)
    .filter(
      (s) =>
        s.evaluationId === evaluationId && (status === undefined || state.statuses[s.id]?.status === status),
    )
    .sort((a, b) => Number(a.id) - Number(b.id));
}

export const registerEvaluationRoutes: RouteModule = (app, context) => {
  const { store } = context;
  const view = (id: string, canSeePrivate: boolean): SubmissionStatus => {
    const stored = store.state.statuses[id];
    if (stored === undefined) throw notFound(`Submission status ${id} does not exist.`);
    return statusView(store.state, stored, canSeePrivate);
  };
  /** Whether the caller sees a status's private annotations. */
  const seesPrivate = (evaluationId: string, userId: string): boolean =>
    canAccessEvaluation(store.state, evaluationId, userId, 'READ_PRIVATE_SUBMISSION');
  /** The caller's own submissions to the evaluation, in id order. */
  const ownSubmissions = (evaluationId: string, userId: string): Submission[] =>
    submissionsOf(store.state, evaluationId, {}).filter((s) => s.userId === userId);

  app.get<{ Params: { evalId: string } }>('/repo/v1/evaluation/:evalId', (request) => {
    const {
      permissions: _permissions,
      aclEtag: _aclEtag,
      ...evaluation
    } = requireEvaluationAccess(store.state, request.params.evalId, request.principalId, 'READ');
    return evaluation;
  });

  app.get<{ Params: { evalId: string }; Querystring: PageQuery }>(
    '/repo/v1/evaluation/:evalId/submission/bundle/all',
    (request) => {
      requireEvaluationAccess(
        store.state,
        request.params.evalId,
        request.principalId,
        'READ_PRIVATE_SUBMISSION',
      );
      return paginate(
        submissionsOf(store.state, request.params.evalId, request.query),
        parsePage(request.query),
        (submission) => ({ submission, submissionStatus: view(submission.id, true) }),
      );
    },
  );

  app.get<{ Params: { evalId: string }; Querystring: PageQuery }>(
    '/repo/v1/evaluation/:evalId/submission/all',
    (request) => {
      requireEvaluationAccess(
        store.state,
        request.params.evalId,
        request.principalId,
        'READ_PRIVATE_SUBMISSION',
      );
      return paginate(
        submissionsOf(store.state, request.params.evalId, request.query),
        parsePage(request.query),
      );
    },
  );

  // A bare JSON number, every submission whatever its status (synapseclient 4.x's Submission.get_submission_count).
  app.get<{ Params: { evalId: string } }>(
    '/repo/v1/evaluation/:evalId/submission/count',
    (request, reply) => {
      requireEvaluationAccess(
        store.state,
        request.params.evalId,
        request.principalId,
        'READ_PRIVATE_SUBMISSION',
      );
      const count = submissionsOf(store.state, request.params.evalId, {}).length;
      return reply.type('application/json').send(JSON.stringify(count));
    },
  );

  // The caller's own submissions, and with their statuses (Submission.get_user_submissions in 4.x).
  app.get<{ Params: { evalId: string }; Querystring: PageQuery }>(
    '/repo/v1/evaluation/:evalId/submission',
    (request) => {
      requireEvaluationAccess(store.state, request.params.evalId, request.principalId, 'READ');
      return paginate(ownSubmissions(request.params.evalId, request.principalId), parsePage(request.query));
    },
  );

  app.get<{ Params: { evalId: string }; Querystring: PageQuery }>(
    '/repo/v1/evaluation/:evalId/submission/bundle',
    (request) => {
      requireEvaluationAccess(store.state, request.params.evalId, request.principalId, 'READ');
      const canSeePrivate = seesPrivate(request.params.evalId, request.principalId);
      return paginate(
        ownSubmissions(request.params.evalId, request.principalId),
        parsePage(request.query),
        (submission) => ({ submission, submissionStatus: view(submission.id, canSeePrivate) }),
      );
    },
  );

  app.get<{ Params: { evalId: string }; Querystring: PageQuery }>(
    '/repo/v1/evaluation/:evalId/submission/status/all',
    (request) => {
      requireEvaluationAccess(store.state, request.params.evalId, request.principalId, 'READ');
      const canSeePrivate = seesPrivate(request.params.evalId, request.principalId);
      return paginate(
        submissionsOf(store.state, request.params.evalId, request.query),
        parsePage(request.query),
        (s) => view(s.id, canSeePrivate),
      );
    },
  );

  app.post<{ Body: SubmissionRequest; Querystring: { etag?: string } }>(
    '/repo/v1/evaluation/submission',
    (request, reply) => {
      const submission = store.change(() =>
        createSubmission(store, request.principalId, request.body, request.query.etag),
      );
      return reply.code(201).send(submission);
    },
  );

  app.get<{ Params: { subId: string } }>('/repo/v1/evaluation/submission/:subId', (request) => {
    const submission = requireSubmission(store.state, request.params.subId);
    requireEvaluationAccess(
      store.state,
      submission.evaluationId,
      request.principalId,
      'READ_PRIVATE_SUBMISSION',
    );
    return submission;
  });

  app.get<{ Params: { subId: string } }>('/repo/v1/evaluation/submission/:subId/status', (request) => {
    const submission = requireSubmission(store.state, request.params.subId);
    requireEvaluationAccess(store.state, submission.evaluationId, request.principalId, 'READ');
    return view(submission.id, seesPrivate(submission.evaluationId, request.principalId));
  });

  app.put<{ Params: { subId: string }; Body: StatusPutBody }>(
    '/repo/v1/evaluation/submission/:subId/status',
    (request) => {
      const stored = store.change(() =>
        replaceStatus(store, request.params.subId, request.body, request.principalId),
      );
      const echoed = statusView(store.state, stored, true);
      // Read by id, not as a bundle: the entity fields echo what was sent.
      return { ...echoed, entityId: request.body.entityId, versionNumber: request.body.versionNumber };
    },
  );

  app.put<{ Params: { subId: string } }>(
    '/repo/v1/evaluation/submission/:subId/cancellation',
    (request, reply) => {
      const submission = requireSubmission(store.state, request.params.subId);
      if (submission.userId !== request.principalId) {
        throw forbidden('Only the user who submitted this submission could perform this action.');
      }
      const status = store.state.statuses[submission.id];
      if (status?.canCancel !== true) throw forbidden('This submission is currently noncancellable.');
      store.change(() => {
        status.cancelRequested = true;
        touchStatus(status);
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { subId: string; fileHandleId: string }; Querystring: { redirect?: string } }>(
    '/repo/v1/evaluation/submission/:subId/file/:fileHandleId',
    (request, reply) => {
      const submission = requireSubmission(store.state, request.params.subId);
      requireEvaluationAccess(
        store.state,
        submission.evaluationId,
        request.principalId,
        'READ_PRIVATE_SUBMISSION',
      );
      const bundle = JSON.parse(submission.entityBundleJSON) as { fileHandles?: { id: string }[] };
      if (!(bundle.fileHandles ?? []).some((handle) => handle.id === request.params.fileHandleId)) {
        throw notFound(
          `File handle ${request.params.fileHandleId} is not part of submission ${submission.id}.`,
        );
      }
      const url = presignedDownloadUrl(context, request.params.fileHandleId);
      if (request.query.redirect === 'false') return reply.type('text/plain').send(url);
      return reply.code(307).header('Location', url).send();
    },
  );
};
