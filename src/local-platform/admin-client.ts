/** A client for the local platform's /__local/ administration routes (tests, the CLI, the demo). */
import axios, { type AxiosInstance } from 'axios';
import type {
  Entity,
  Evaluation,
  FileHandle,
  Submission,
  SubmissionStatus,
  Team,
  UserProfile,
} from '../synapse/types.js';
import type { ActiveFault, FaultRule } from './faults.js';
import type { Journal } from './journal.js';
import type {
  NewEvaluationRequest,
  NewSubmissionRequest,
  NewTemplateRequest,
  NewUserRequest,
  StatusEdit,
} from './routes/admin.js';
import type { PlatformState, StoredMessage } from './state.js';

export type SeededUser = UserProfile & { token: string };

export class LocalPlatformAdmin {
  private readonly http: AxiosInstance;

  constructor(baseUrl: string, adminToken: string) {
    this.http = axios.create({
      baseURL: `${baseUrl}/__local`,
      headers: { Authorization: `Bearer ${adminToken}` },
      validateStatus: (status) => status >= 200 && status < 300,
    });
  }

  private async call<T>(
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    path: string,
    body?: unknown,
  ): Promise<T> {
    try {
      const response = await this.http.request<T>({ method, url: path, data: body });
      return response.data;
    } catch (error) {
      const reason = (error as { response?: { data?: { reason?: string }; status?: number } }).response;
      throw new Error(
        `local platform admin ${method.toUpperCase()} ${path} failed (${reason?.status ?? 'no answer'}): ${reason?.data?.reason ?? (error as Error).message}`,
      );
    }
  }

  createUser(user: NewUserRequest): Promise<SeededUser> {
    return this.call('post', '/users', user);
  }

  createToken(userId: string): Promise<{ token: string }> {
    return this.call('post', `/users/${userId}/tokens`);
  }

  createTeam(name: string, members: string[]): Promise<Team> {
    return this.call('post', '/teams', { name, members });
  }

  createProject(name: string, ownerId: string): Promise<Entity> {
    return this.call('post', '/projects', { name, ownerId });
  }

  createFolder(name: string, parentId: string, ownerId: string): Promise<Entity> {
    return this.call('post', '/folders', { name, parentId, ownerId });
  }

  /** A template entity with ROOT_TEMPLATE; returns the entity and its file handle. */
  createTemplate(template: NewTemplateRequest): Promise<Entity & { fileHandle: FileHandle }> {
    return this.call('post', '/templates', template);
  }

  createEvaluation(evaluation: NewEvaluationRequest): Promise<Evaluation> {
    return this.call('post', '/evaluations', evaluation);
  }

  createSubmission(submission: NewSubmissionRequest): Promise<Submission> {
    return this.call('post', '/submissions', submission);
  }

  /** As the submitter would; `force` ignores canCancel. */
  requestCancel(submissionId: string, force = false): Promise<void> {
    return this.call('post', `/submissions/${submissionId}/cancel`, { force });
  }

  /** Changes a status as a workflow would, with a new etag. */
  editStatus(submissionId: string, edit: StatusEdit): Promise<SubmissionStatus> {
    return this.call('patch', `/submissions/${submissionId}/status`, edit);
  }

  /** Every message sent, with its body decoded. */
  messages(): Promise<(StoredMessage & { body: string })[]> {
    return this.call('get', '/messages');
  }

  dump(): Promise<Omit<PlatformState, 'tokens'>> {
    return this.call('get', '/dump');
  }

  /** Every status and entity write since the platform started, with when it was stored. */
  journal(): Promise<Journal> {
    return this.call('get', '/journal');
  }

  addFault(rule: FaultRule): Promise<ActiveFault> {
    return this.call('post', '/faults', rule);
  }

  faults(): Promise<ActiveFault[]> {
    return this.call('get', '/faults');
  }

  clearFaults(seed?: number): Promise<void> {
    return this.call('delete', seed === undefined ? '/faults' : `/faults?seed=${seed}`);
  }
}
