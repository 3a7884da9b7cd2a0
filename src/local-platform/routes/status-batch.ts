/**
 * Local platform route: PUT /evaluation/{evalId}/statusBatch, many status updates at once
 * (synapse-rest.md §3.5), as synapseclient 4.x's SubmissionStatus.batch_update_submission_statuses sends
 * them. Each status is checked as a single PUT would be; one failure rejects the whole batch, and nothing
 * is stored unless every status passes.
 *
 * A series of batches is held together by a token: every batch but the first sends the token the previous
 * one returned. Any other change to the evaluation's statuses in between (a status PUT, another series)
 * ends the series, and its next batch gets 412, as on Synapse.
 */
import { randomUUID } from 'node:crypto';
import type { RouteModule } from '../context.js';
import { badRequest, forbidden, notFound, preconditionFailed } from '../errors.js';
import { canAccessEvaluation } from '../permissions.js';
import type { StoredStatus } from '../state.js';
import {
  checkStatusPut,
  endStatusBatchSeries,
  requireSubmission,
  type StatusPutBody,
} from '../submissions.js';

const MAX_BATCH = 500;

interface SubmissionStatusBatch {
  statuses?: StatusPutBody[] | null;
  isFirstBatch?: boolean | null;
  isLastBatch?: boolean | null;
  batchToken?: string | null;
}

export const registerStatusBatchRoutes: RouteModule = (app, { store }) => {
  app.put<{ Params: { evalId: string }; Body: SubmissionStatusBatch | null }>(
    '/repo/v1/evaluation/:evalId/statusBatch',
    (request) => {
      const { evalId } = request.params;
      const batch = request.body ?? {};
      const { state } = store;
      if (state.evaluations[evalId] === undefined) throw notFound(`Evaluation ${evalId} does not exist.`);
      if (!canAccessEvaluation(state, evalId, request.principalId, 'UPDATE_SUBMISSION')) {
        throw forbidden(
          `User ${request.principalId} lacks UPDATE_SUBMISSION permission on evaluation ${evalId}.`,
        );
      }
      const statuses = batch.statuses ?? [];
      if (statuses.length === 0) throw badRequest('Batch must contain at least one SubmissionStatus.');
      if (statuses.length > MAX_BATCH) {
        throw badRequest(`Batch size cannot exceed ${MAX_BATCH} SubmissionStatuses.`);
      }
      if (typeof batch.isFirstBatch !== 'boolean') throw badRequest('isFirstBatch is required.');
      if (typeof batch.isLastBatch !== 'boolean') throw badRequest('isLastBatch is required.');
      const tokens = state.statusBatchTokens ?? {};
      if (!batch.isFirstBatch) {
        if (batch.batchToken === undefined || batch.batchToken === null) {
          throw badRequest('batchToken is required for every batch but the first.');
        }
        if (tokens[evalId] !== batch.batchToken) {
          throw preconditionFailed(
            `The batch token is out of date: the submissions of evaluation ${evalId} changed since the previous batch. Start again from the first batch.`,
          );
        }
      }
      const seen = new Set<string>();
      const next: StoredStatus[] = statuses.map((status) => {
        const id = status.id;
        if (id === undefined || id === null) throw badRequest('Every SubmissionStatus needs an id.');
        if (seen.has(id)) throw badRequest(`Duplicate SubmissionStatus in the batch: ${id}`);
        seen.add(id);
        if (requireSubmission(state, id).evaluationId !== evalId) {
          throw badRequest(`Submission ${id} does not belong to evaluation ${evalId}.`);
        }
        return checkStatusPut(store, id, status, request.principalId);
      });
      const nextUploadToken = batch.isLastBatch ? undefined : randomUUID();
      store.change(() => {
        for (const status of next) state.statuses[status.id] = status;
        if (nextUploadToken === undefined) endStatusBatchSeries(state, evalId);
        else state.statusBatchTokens = { ...tokens, [evalId]: nextUploadToken };
      });
      return nextUploadToken === undefined ? {} : { nextUploadToken };
    },
  );
};
