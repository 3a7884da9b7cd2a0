/**
 * Submissions and their statuses on the local platform: creating a submission (with its frozen entity
 * bundle), showing a status the way Synapse does, and validating a status PUT (synapse-rest.md §3.4).
 */
import {
  CONCRETE,
  SUBMISSION_STATUSES,
  type Submission,
  type SubmissionStatus,
  type SubmissionStatusEnum,
  type V1Annotations,
} from '../synapse/types.js';
import { validateAnnotations } from './annotations.js';
import { badRequest, forbidden, notFound, PlatformError } from './errors.js';
import { canAccessEntity, canAccessEvaluation } from './permissions.js';
import { entityView } from './records.js';
import type { PlatformState, StoredStatus } from './state.js';
import { PlatformStore } from './store.js';

/** The body of a submission request, as received (fields may be missing). */
export interface SubmissionRequest {
  evaluationId?: string;
  entityId?: string;
  versionNumber?: number;
  name?: string;
  /** synapseclient sends null for "no team". */
  teamId?: string | null;
  dockerDigest?: string;
}

export function requireSubmission(state: PlatformState, id: string): Submission {
  const submission = state.submissions[id];
  if (submission === undefined) throw notFound(`Submission ${id} does not exist.`);
  return submission;
}

/** Creates a submission of `request.entityId` by `userId`; the status starts RECEIVED. */
export function createSubmission(
  store: PlatformStore,
  userId: string,
  request: SubmissionRequest,
  entityEtag: string | undefined,
): Submission {
  const { state } = store;
  if (request.evaluationId === undefined || request.entityId === undefined) {
    throw badRequest('evaluationId and entityId are required.');
  }
  const { evaluationId, entityId } = request;
  const evaluation = state.evaluations[evaluationId];
  if (evaluation === undefined) throw notFound(`Evaluation ${evaluationId} does not exist.`);
  if (!canAccessEvaluation(state, evaluation.id, userId, 'SUBMIT')) {
    throw forbidden(`User ${userId} is not allowed to submit to evaluation ${evaluation.id}.`);
  }
  const entity = state.entities[entityId];
  if (entity === undefined) throw notFound(`Entity ${entityId} does not exist.`);
  if (!canAccessEntity(state, entity.id, userId, 'READ'))
    throw forbidden(`Lack of READ permission on ${entity.id}.`);
  if (entityEtag !== undefined && entityEtag !== entity.etag) {
    throw new PlatformError(
      412,
      `Object: ${entity.id} was updated since you last fetched it, retrieve it again and re-apply the update`,
    );
  }
  const teamId = request.teamId ?? undefined;
  const team = teamId === undefined ? undefined : state.teams[teamId];
  if (teamId !== undefined) {
    if (team === undefined) throw notFound(`Team ${teamId} does not exist.`);
    if (!team.members.includes(userId)) throw forbidden(`User ${userId} is not a member of team ${team.id}.`);
  }
  const isDocker = entity.concreteType === CONCRETE.dockerRepository;
  if (
    isDocker &&
    (request.dockerDigest === undefined || !/^sha256:[0-9a-f]{64}$/.test(request.dockerDigest))
  ) {
    throw badRequest('A Docker repository submission needs a dockerDigest (sha256:<64 hex>).');
  }
  const handle =
    entity.dataFileHandleId === undefined ? undefined : state.fileHandles[entity.dataFileHandleId];
  const bundle = {
    entity: entityView(entity),
    entityType: isDocker ? 'dockerrepo' : entity.concreteType === CONCRETE.fileEntity ? 'file' : 'folder',
    annotations: { id: entity.id, etag: entity.etag, annotations: entity.annotations },
    fileHandles: handle === undefined ? [] : [handle],
  };
  const now = PlatformStore.now();
  const submission: Submission = {
    id: store.nextId(),
    userId,
    evaluationId: evaluation.id,
    entityId: entity.id,
    versionNumber: request.versionNumber ?? entity.versionNumber ?? 1,
    entityBundleJSON: JSON.stringify(bundle),
    name: request.name ?? entity.name,
    createdOn: now,
    contributors: [{ principalId: userId, createdOn: now }],
    ...(team === undefined ? {} : { teamId: team.id, submitterAlias: team.name }),
    ...(isDocker
      ? { dockerRepositoryName: entity.repositoryName ?? entity.name, dockerDigest: request.dockerDigest }
      : {}),
  };
  state.submissions[submission.id] = submission;
  state.statuses[submission.id] = {
    id: submission.id,
    etag: PlatformStore.etag(),
    modifiedOn: now,
    status: 'RECEIVED',
    statusVersion: 0,
    submissionAnnotations: {},
  };
  return submission;
}

/** A status as Synapse shows it: entity fields from the submission, v2 map wrapped (or absent when empty). */
export function statusView(
  state: PlatformState,
  stored: StoredStatus,
  canSeePrivate: boolean,
): SubmissionStatus {
  const submission = state.submissions[stored.id];
  const { submissionAnnotations, annotations, ...rest } = stored;
  const view: SubmissionStatus = {
    ...rest,
    ...(submission === undefined
      ? {}
      : { entityId: submission.entityId, versionNumber: submission.versionNumber }),
  };
  if (annotations !== undefined) view.annotations = canSeePrivate ? annotations : withoutPrivate(annotations);
  if (Object.keys(submissionAnnotations).length > 0) {
    view.submissionAnnotations = { id: stored.id, etag: stored.etag, annotations: submissionAnnotations };
  }
  return view;
}

function withoutPrivate(annotations: V1Annotations): V1Annotations {
  return {
    ...annotations,
    stringAnnos: (annotations.stringAnnos ?? []).filter((a) => a.isPrivate === false),
    longAnnos: (annotations.longAnnos ?? []).filter((a) => a.isPrivate === false),
    doubleAnnos: (annotations.doubleAnnos ?? []).filter((a) => a.isPrivate === false),
  };
}

function validateV1Annotations(
  annotations: V1Annotations | null | undefined,
  submission: Submission,
): V1Annotations | undefined {
  if (annotations === undefined || annotations === null) return undefined;
  const seen = new Set<string>();
  const lists = [annotations.stringAnnos ?? [], annotations.longAnnos ?? [], annotations.doubleAnnos ?? []];
  for (const list of lists) {
    for (const entry of list) {
      if (seen.has(entry.key)) throw badRequest(`Duplicate annotations found for key: ${entry.key}`);
      seen.add(entry.key);
    }
  }
  const withDefault = <T extends { isPrivate?: boolean }>(list: T[]) =>
    list.map((entry) => ({ ...entry, isPrivate: entry.isPrivate ?? true }));
  return {
    ...annotations,
    objectId: submission.id,
    scopeId: submission.evaluationId,
    stringAnnos: withDefault(annotations.stringAnnos ?? []),
    longAnnos: withDefault(annotations.longAnnos ?? []),
    doubleAnnos: withDefault(annotations.doubleAnnos ?? []),
  };
}

/** A status PUT body as received: any field may be missing or null. */
export type StatusPutBody = { [K in keyof SubmissionStatus]?: SubmissionStatus[K] | null };

/**
 * Checks a status PUT as the server does and returns the status that replaces the stored one whole
 * (fields left out are lost, as on Synapse), with a new etag and statusVersion; stores nothing.
 */
export function checkStatusPut(
  store: PlatformStore,
  subId: string,
  body: StatusPutBody,
  callerId: string,
): StoredStatus {
  const { state } = store;
  if (body.id !== subId) throw badRequest(`Submission ID does not match requested ID: ${subId}`);
  const submission = requireSubmission(state, subId);
  if (!canAccessEvaluation(state, submission.evaluationId, callerId, 'UPDATE_SUBMISSION')) {
    throw forbidden(
      `User ${callerId} lacks UPDATE_SUBMISSION permission on evaluation ${submission.evaluationId}.`,
    );
  }
  if (
    body.score !== undefined &&
    body.score !== null &&
    (typeof body.score !== 'number' || body.score < 0 || body.score > 1)
  ) {
    throw badRequest('Score must be between 0 and 1.');
  }
  const annotations = validateV1Annotations(body.annotations, submission);
  const submissionAnnotations = validateAnnotations(body.submissionAnnotations?.annotations);
  if (body.etag === undefined || body.etag === null) throw badRequest('eTag is required.');
  if (body.status === undefined || body.status === null) throw badRequest('Submission status is required.');
  if (!SUBMISSION_STATUSES.includes(body.status))
    throw badRequest(`Unknown submission status: ${body.status}`);
  if (body.statusVersion === undefined || body.statusVersion === null)
    throw badRequest('Status version is required.');
  const current = state.statuses[subId];
  if (current === undefined) throw notFound(`Submission status ${subId} does not exist.`);
  if (body.etag !== current.etag) {
    throw new PlatformError(
      412,
      `Submission Status: ${subId} was updated since you last fetched it, retrieve it again and reapply the update`,
    );
  }
  const next: StoredStatus = {
    id: subId,
    etag: PlatformStore.etag(),
    modifiedOn: PlatformStore.now(),
    status: body.status,
    statusVersion: current.statusVersion + 1,
    submissionAnnotations,
    ...(annotations === undefined ? {} : { annotations }),
    ...(body.score === undefined || body.score === null ? {} : { score: body.score }),
    ...(body.report === undefined || body.report === null ? {} : { report: body.report }),
    ...(body.canCancel === undefined || body.canCancel === null ? {} : { canCancel: body.canCancel }),
    ...(body.cancelRequested === undefined || body.cancelRequested === null
      ? {}
      : { cancelRequested: body.cancelRequested }),
  };
  return next;
}

/**
 * Applies a status PUT. Like any change to an evaluation's submissions on Synapse, it ends a batch
 * series in progress on that evaluation (the series' next batch gets 412).
 */
export function replaceStatus(
  store: PlatformStore,
  subId: string,
  body: StatusPutBody,
  callerId: string,
): StoredStatus {
  const next = checkStatusPut(store, subId, body, callerId);
  store.state.statuses[subId] = next;
  endStatusBatchSeries(store.state, requireSubmission(store.state, subId).evaluationId);
  return next;
}

/** Ends the batch series of status updates in progress on an evaluation, if any (its next batch gets 412). */
export function endStatusBatchSeries(state: PlatformState, evaluationId: string): void {
  if (state.statusBatchTokens === undefined) return;
  state.statusBatchTokens = Object.fromEntries(
    Object.entries(state.statusBatchTokens).filter(([id]) => id !== evaluationId),
  );
}

/** Marks a status changed by someone other than a PUT (a cancel request, an admin edit). */
export function touchStatus(status: StoredStatus): void {
  status.etag = PlatformStore.etag();
  status.statusVersion += 1;
  status.modifiedOn = PlatformStore.now();
}

export function parseStatusFilter(raw: string | undefined): SubmissionStatusEnum | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const status = raw.trim().toUpperCase();
  if (!SUBMISSION_STATUSES.includes(status as SubmissionStatusEnum)) {
    throw badRequest(`No enum constant org.sagebionetworks.evaluation.model.SubmissionStatusEnum.${status}`);
  }
  return status as SubmissionStatusEnum;
}

/** Synapse's paging parameters: limit 0..100 (default 10), offset >= 0 (default 0). */
export function parsePage(query: { limit?: string; offset?: string }): { limit: number; offset: number } {
  const limit = query.limit === undefined ? 10 : Number(query.limit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(limit) || limit < 0 || limit > 100)
    throw badRequest('limit must be between 0 and 100');
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('offset must be at least 0');
  return { limit, offset };
}

/**
 * A page with Synapse's estimate of the total: offset + n, plus one when the page came back full. `toResult`
 * is applied to the page's items only (a status view, say: building one for every item on every page made a
 * full listing quadratic in the backlog).
 */
export function paginate<T, R = T>(
  items: T[],
  page: { limit: number; offset: number },
  toResult?: (item: T) => R,
): { totalNumberOfResults: number; results: R[] } {
  const slice = items.slice(page.offset, page.offset + page.limit);
  const totalNumberOfResults = page.offset + slice.length + (slice.length >= page.limit ? 1 : 0);
  const results = toResult === undefined ? (slice as unknown as R[]) : slice.map(toResult);
  return { totalNumberOfResults, results };
}
