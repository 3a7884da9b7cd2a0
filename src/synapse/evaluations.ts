/** Evaluation queues, submissions and their statuses (synapse-rest.md §3). */
import type { Logger } from '../logging/logger.js';
import type { SynapseHttp } from './http.js';
import { isSynapseError } from './errors.js';
import { readAllPages, type AllPages } from './paging.js';
import {
  describeIssues,
  pageSchema,
  submissionBundleSchema,
  submissionSchema,
  submissionStatusSchema,
} from './schemas.js';
import {
  updateSubmissionStatus,
  type StatusChanges,
  type StatusStore,
  type UpdateOptions,
  type UpdateResult,
} from './submission-status.js';
import type {
  AccessControlList,
  AccessType,
  Evaluation,
  PaginatedResults,
  Submission,
  SubmissionBundle,
  SubmissionStatus,
  SubmissionStatusEnum,
} from './types.js';

export interface SubmitRequest {
  evaluationId: string;
  entityId: string;
  versionNumber: number;
  /** The entity's current etag (Synapse checks it). */
  entityEtag: string;
  name?: string;
  teamId?: string;
  dockerDigest?: string;
}

/** A team submission: who contributed, and the eligibility hash Synapse handed out for that team. */
export interface TeamSubmitRequest extends SubmitRequest {
  teamId: string;
  /** The hash from `teamSubmissionEligibility`: Synapse refuses the submission if eligibility changed since. */
  submissionEligibilityHash: string;
  /** The team members credited with the submission (the submitter is always added). */
  contributors: { principalId: string }[];
  /** How the submission is shown on leaderboards; Synapse's clients use the team name. */
  submitterAlias?: string;
}

/** One member's standing for a team submission (Synapse's MemberSubmissionEligibility). */
export interface MemberSubmissionEligibility {
  principalId: number;
  isEligible?: boolean;
  isRegistered?: boolean;
  isQuotaFilled?: boolean;
  hasConflictingSubmission?: boolean;
}

/** GET /evaluation/{id}/team/{teamId}/submissionEligibility (Synapse's TeamSubmissionEligibility). */
export interface TeamSubmissionEligibility {
  teamId: string;
  evaluationId: string;
  teamEligibility: { isEligible?: boolean; isRegistered?: boolean; isQuotaFilled?: boolean };
  membersEligibility: MemberSubmissionEligibility[];
  /** A JSON number; sent back as the submissionEligibilityHash query parameter. */
  eligibilityStateHash: number | string;
}

export interface NewEvaluation {
  name: string;
  /** The project the queue belongs to. */
  contentSource: string;
  description?: string;
  submissionInstructionsMessage?: string;
  submissionReceiptMessage?: string;
}

/** A listing's item that is not a bundle the orchestrator can use: left out, and said why. */
export interface MalformedBundle {
  /** Its submission id, when it has a readable one. */
  submissionId: string | undefined;
  /** What is wrong, field by field. */
  problem: string;
}

export interface BundleListing extends AllPages<SubmissionBundle> {
  /** Items left out because they do not have a bundle's shape (each also logged at warn level). */
  malformed: MalformedBundle[];
}

/** An item's submission id, if it has a string one (for naming a malformed item). */
function submissionIdOf(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || !('submission' in item)) return undefined;
  const submission = item.submission;
  if (submission === null || typeof submission !== 'object' || !('id' in submission)) return undefined;
  return typeof submission.id === 'string' && submission.id !== '' ? submission.id : undefined;
}

export class EvaluationApi implements StatusStore {
  constructor(
    private readonly http: SynapseHttp,
    private readonly logger?: Logger,
  ) {}

  /** Creates a queue; the caller owns it. A name already taken anywhere on Synapse is a 409. */
  create(evaluation: NewEvaluation): Promise<Evaluation> {
    return this.http.request({ api: 'repo', method: 'POST', path: '/evaluation', body: evaluation });
  }

  getAcl(evaluationId: string): Promise<AccessControlList> {
    return this.http.request({ api: 'repo', method: 'GET', path: `/evaluation/${evaluationId}/acl` });
  }

  /** Replaces the queue's ACL; `acl.etag` must be the current one (412 otherwise). */
  updateAcl(acl: AccessControlList): Promise<AccessControlList> {
    return this.http.request({ api: 'repo', method: 'PUT', path: '/evaluation/acl', body: acl });
  }

  /** Whether the caller holds `accessType` on the queue (asks Synapse; changes nothing). */
  async hasAccess(evaluationId: string, accessType: AccessType): Promise<boolean> {
    const answer = await this.http.request<{ result: boolean }>({
      api: 'repo',
      method: 'GET',
      path: `/evaluation/${evaluationId}/access`,
      query: { accessType },
    });
    return answer.result;
  }

  /** The queue called `name` (names are unique), or undefined when there is none the caller may read. */
  async getByName(name: string): Promise<Evaluation | undefined> {
    try {
      return await this.http.request<Evaluation>({
        api: 'repo',
        method: 'GET',
        path: `/evaluation/name/${encodeURIComponent(name)}`,
      });
    } catch (error) {
      if (isSynapseError(error, 404)) return undefined;
      throw error;
    }
  }

  /** Whether `teamId` may submit to the queue now, member by member, and the hash a team submission needs. */
  teamSubmissionEligibility(evaluationId: string, teamId: string): Promise<TeamSubmissionEligibility> {
    return this.http.request({
      api: 'repo',
      method: 'GET',
      path: `/evaluation/${evaluationId}/team/${teamId}/submissionEligibility`,
    });
  }

  get(evaluationId: string): Promise<Evaluation> {
    return this.http.request({ api: 'repo', method: 'GET', path: `/evaluation/${evaluationId}` });
  }

  /**
   * Every bundle of the queue with `status`, all pages read before returning. Bundles whose status changed
   * while the list was read are left out; the next read will see them as they are. An item that is not a
   * usable bundle (a field the orchestrator needs missing or of the wrong type) is left out and logged with
   * what is wrong, so one bad item never hides the rest of the queue; a page that is not a page fails the
   * call (a SynapseError).
   */
  async bundles(evaluationId: string, status?: SubmissionStatusEnum, pageSize = 100): Promise<BundleListing> {
    let unnamed = 0;
    const pages = await readAllPages(
      (offset, limit) =>
        this.http.request<PaginatedResults<unknown>>({
          api: 'repo',
          method: 'GET',
          path: `/evaluation/${evaluationId}/submission/bundle/all`,
          query: { status, offset, limit },
          schema: pageSchema,
        }),
      // A malformed item may have no id: it is never taken for a repeat of another one.
      (item) => submissionIdOf(item) ?? `(malformed #${++unnamed})`,
      pageSize,
    );
    const items: SubmissionBundle[] = [];
    const malformed: MalformedBundle[] = [];
    for (const item of pages.items) {
      const checked = submissionBundleSchema.safeParse(item);
      if (checked.success) {
        items.push(checked.data as unknown as SubmissionBundle);
        continue;
      }
      const skipped = {
        submissionId: submissionIdOf(item),
        problem: describeIssues(checked.error, 'the item'),
      };
      malformed.push(skipped);
      this.logger?.warn('Skipped a malformed submission bundle in the queue listing; the rest are handled', {
        evaluationId,
        submissionId: skipped.submissionId ?? '(none readable)',
        problem: skipped.problem,
      });
    }
    const wanted =
      status === undefined ? items : items.filter((bundle) => bundle.submissionStatus.status === status);
    return { items: wanted, duplicates: pages.duplicates, malformed };
  }

  submission(submissionId: string): Promise<Submission> {
    return this.http.request({
      api: 'repo',
      method: 'GET',
      path: `/evaluation/submission/${submissionId}`,
      schema: submissionSchema,
    });
  }

  getStatus(submissionId: string): Promise<SubmissionStatus> {
    return this.http.request({
      api: 'repo',
      method: 'GET',
      path: `/evaluation/submission/${submissionId}/status`,
      schema: submissionStatusSchema,
    });
  }

  /** A raw PUT: the body replaces the status whole. Prefer `updateStatus`. */
  putStatus(status: SubmissionStatus): Promise<SubmissionStatus> {
    return this.http.request({
      api: 'repo',
      method: 'PUT',
      path: `/evaluation/submission/${status.id}/status`,
      body: status,
      schema: submissionStatusSchema,
    });
  }

  /** Applies `changes` to the latest status, merging with concurrent writers (see submission-status.ts). */
  updateStatus(submissionId: string, changes: StatusChanges, options?: UpdateOptions): Promise<UpdateResult> {
    return updateSubmissionStatus(this, submissionId, changes, options);
  }

  /** The submitter's cancel request. */
  async requestCancel(submissionId: string): Promise<void> {
    await this.http.request({
      api: 'repo',
      method: 'PUT',
      path: `/evaluation/submission/${submissionId}/cancellation`,
    });
  }

  submit(request: SubmitRequest): Promise<Submission> {
    const { entityEtag, ...body } = request;
    return this.http.request({
      api: 'repo',
      method: 'POST',
      path: '/evaluation/submission',
      query: { etag: entityEtag },
      body,
    });
  }

  /** Submits on behalf of a team (see `teamSubmissionEligibility` for the hash and the contributors). */
  submitAsTeam(request: TeamSubmitRequest): Promise<Submission> {
    const { entityEtag, submissionEligibilityHash, ...body } = request;
    return this.http.request({
      api: 'repo',
      method: 'POST',
      path: '/evaluation/submission',
      query: { etag: entityEtag, submissionEligibilityHash },
      body,
    });
  }

  /** A short-lived URL for a file of the submission (no Synapse credentials needed to fetch it). */
  submissionFileUrl(submissionId: string, fileHandleId: string): Promise<string> {
    return this.http.request({
      api: 'repo',
      method: 'GET',
      path: `/evaluation/submission/${submissionId}/file/${fileHandleId}`,
      query: { redirect: false },
      responseType: 'text',
    });
  }
}
