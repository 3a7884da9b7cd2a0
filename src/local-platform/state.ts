/**
 * Everything the local platform remembers, as one JSON-serialisable object (file bytes live beside it as
 * blobs). Shapes follow synapse-rest.md §9.1.
 */
import type { Activity } from './provenance.js';
import type {
  AccessControlList,
  AccessType,
  Entity,
  Evaluation,
  FileHandle,
  MultipartUploadRequest,
  Submission,
  SubmissionStatus,
  Team,
  UserProfile,
  V2AnnotationValue,
} from '../synapse/types.js';

export interface StoredEvaluation extends Evaluation {
  /** principalId -> what that principal may do on this evaluation (besides its owner, who may do all). */
  permissions: Record<string, AccessType[]>;
  /** Changes whenever the ACL is replaced (PUT /evaluation/acl); the evaluation's etag until then. */
  aclEtag?: string;
}

export interface StoredTeam extends Team {
  members: string[];
}

/** A status as stored: entityId/versionNumber come from the Submission when read. */
export type StoredStatus = Omit<SubmissionStatus, 'entityId' | 'versionNumber' | 'submissionAnnotations'> & {
  /** The v2 map only; id and etag are filled in on output. */
  submissionAnnotations: Record<string, V2AnnotationValue>;
};

export interface StoredEntity extends Entity {
  annotations: Record<string, V2AnnotationValue>;
  /** Earlier versions of a FileEntity, oldest first (the current one is the entity itself). */
  previousVersions?: {
    versionNumber: number;
    dataFileHandleId: string;
    modifiedOn: string;
    versionLabel?: string;
    modifiedBy?: string;
    activityId?: string;
  }[];
  /** The Activity that generated the current version (provenance), if any. */
  activityId?: string;
}

export interface StoredUpload {
  uploadId: string;
  /** Key for idempotency: the starter and a hash of the request JSON. */
  requestHash: string;
  startedBy: string;
  startedOn: string;
  updatedOn: string;
  request: MultipartUploadRequest;
  numberOfParts: number;
  /** MD5 (hex) of the bytes the fake S3 received for each part, by part number. */
  received: Record<string, string>;
  /** Part numbers successfully added. */
  added: number[];
  state: 'UPLOADING' | 'COMPLETED';
  resultFileHandleId?: string;
}

export interface StoredMessage {
  id: string;
  createdBy: string;
  recipients: string[];
  subject?: string;
  fileHandleId: string;
  createdOn: string;
}

/** A tag/digest pair recorded for a Docker repository entity (POST /entity/{id}/dockerCommit). */
export interface DockerCommitRecord {
  tag?: string;
  digest: string;
  createdOn: string;
}

export interface PlatformState {
  /** Source of every numeric id (users, teams, evaluations, submissions, file handles, uploads, messages) and of syn ids. */
  nextId: number;
  /** Access token -> principal id. */
  tokens: Record<string, string>;
  users: Record<string, UserProfile>;
  teams: Record<string, StoredTeam>;
  evaluations: Record<string, StoredEvaluation>;
  submissions: Record<string, Submission>;
  statuses: Record<string, StoredStatus>;
  entities: Record<string, StoredEntity>;
  acls: Record<string, AccessControlList>;
  /** Docker repository entity id → its commits (absent in state files written before they existed). */
  dockerCommits?: Record<string, DockerCommitRecord[]>;
  fileHandles: Record<string, FileHandle>;
  /** Provenance records by id (absent in state files written before they existed). */
  activities?: Record<string, Activity>;
  uploads: Record<string, StoredUpload>;
  /**
   * Evaluation id → the token a batch series of status updates (PUT /evaluation/{id}/statusBatch) must
   * send next; absent when no series is in progress (and in state files written before batches existed).
   */
  statusBatchTokens?: Record<string, string>;
  messages: StoredMessage[];
  /** Sender -> times (ms) of their recent messages, for the 10-per-minute limit. */
  messageTimes: Record<string, number[]>;
}

export function emptyState(): PlatformState {
  return {
    nextId: 3_000_000,
    tokens: {},
    users: {},
    teams: {},
    evaluations: {},
    submissions: {},
    statuses: {},
    entities: {},
    acls: {},
    fileHandles: {},
    uploads: {},
    messages: [],
    messageTimes: {},
  };
}
