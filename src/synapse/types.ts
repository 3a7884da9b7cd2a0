/**
 * Shapes of the Synapse REST dialect (synapse-rest.md), shared by the client and the local platform.
 * Field names are Synapse's own. Absent optional fields are omitted, never null (Synapse omits nulls).
 */

export const CONCRETE = {
  errorResponse: 'org.sagebionetworks.repo.model.ErrorResponse',
  project: 'org.sagebionetworks.repo.model.Project',
  folder: 'org.sagebionetworks.repo.model.Folder',
  fileEntity: 'org.sagebionetworks.repo.model.FileEntity',
  dockerRepository: 'org.sagebionetworks.repo.model.docker.DockerRepository',
  s3FileHandle: 'org.sagebionetworks.repo.model.file.S3FileHandle',
  externalFileHandle: 'org.sagebionetworks.repo.model.file.ExternalFileHandle',
  multipartUploadRequest: 'org.sagebionetworks.repo.model.file.MultipartUploadRequest',
} as const;

/** Well-known principals. */
export const PRINCIPALS = { authenticatedUsers: 273948, public: 273949, anonymous: 273950 } as const;

export interface PaginatedResults<T> {
  /** NOT a count: offset + n (+1 when the page was full). */
  totalNumberOfResults: number;
  results: T[];
}

export interface ErrorResponse {
  concreteType?: string;
  reason: string;
  errorCode?: string;
}

export interface UserProfile {
  ownerId: string;
  userName: string;
  firstName?: string;
  lastName?: string;
  emails?: string[];
  etag?: string;
  createdOn?: string;
}

export interface Team {
  id: string;
  name: string;
  description?: string;
  etag?: string;
  createdOn?: string;
  modifiedOn?: string;
  createdBy?: string;
  modifiedBy?: string;
}

export interface Evaluation {
  id: string;
  etag: string;
  name: string;
  description?: string;
  ownerId: string;
  createdOn: string;
  contentSource: string;
  submissionInstructionsMessage?: string;
  submissionReceiptMessage?: string;
}

export type SubmissionStatusEnum =
  | 'OPEN'
  | 'CLOSED'
  | 'SCORED'
  | 'INVALID'
  | 'VALIDATED'
  | 'EVALUATION_IN_PROGRESS'
  | 'RECEIVED'
  | 'REJECTED'
  | 'ACCEPTED';

export const SUBMISSION_STATUSES: readonly SubmissionStatusEnum[] = [
  'OPEN',
  'CLOSED',
  'SCORED',
  'INVALID',
  'VALIDATED',
  'EVALUATION_IN_PROGRESS',
  'RECEIVED',
  'REJECTED',
  'ACCEPTED',
];

export interface Submission {
  id: string;
  userId: string;
  submitterAlias?: string;
  evaluationId: string;
  evaluationRoundId?: string;
  entityId: string;
  versionNumber: number;
  /** A JSON-encoded EntityBundle frozen at submission time. */
  entityBundleJSON: string;
  dockerRepositoryName?: string;
  dockerDigest?: string;
  name?: string;
  createdOn: string;
  teamId?: string;
  contributors?: { principalId: string; createdOn: string }[];
}

/** v1 annotations: only on SubmissionStatus. `isPrivate` defaults to true on the server. */
export interface V1Annotations {
  objectId?: string;
  scopeId?: string;
  version?: number;
  stringAnnos?: { key: string; value: string; isPrivate?: boolean }[];
  longAnnos?: { key: string; value: number; isPrivate?: boolean }[];
  doubleAnnos?: { key: string; value: number; isPrivate?: boolean }[];
}

export type V2AnnotationType = 'STRING' | 'DOUBLE' | 'LONG' | 'TIMESTAMP_MS' | 'BOOLEAN';

export interface V2AnnotationValue {
  type: V2AnnotationType;
  /** Always strings, even for numbers. */
  value: string[];
}

/** v2 annotations: entities and SubmissionStatus.submissionAnnotations. */
export interface V2Annotations {
  id: string;
  etag: string;
  annotations: Record<string, V2AnnotationValue>;
}

export interface SubmissionStatus {
  id: string;
  etag: string;
  modifiedOn?: string;
  status: SubmissionStatusEnum;
  score?: number;
  report?: string;
  annotations?: V1Annotations;
  submissionAnnotations?: V2Annotations;
  entityId?: string;
  versionNumber?: number;
  statusVersion: number;
  canCancel?: boolean;
  cancelRequested?: boolean;
}

export interface SubmissionBundle {
  submission: Submission;
  submissionStatus: SubmissionStatus;
}

export interface Entity {
  id: string;
  name: string;
  concreteType: string;
  etag: string;
  parentId?: string;
  description?: string;
  createdOn: string;
  modifiedOn: string;
  createdBy: string;
  modifiedBy: string;
  /** FileEntity only. */
  dataFileHandleId?: string;
  versionNumber?: number;
  versionLabel?: string;
  versionComment?: string;
  isLatestVersion?: boolean;
  /** DockerRepository only. */
  repositoryName?: string;
}

/** What a caller sends to create an entity. */
export interface NewEntity {
  name: string;
  concreteType: string;
  parentId?: string;
  description?: string;
  dataFileHandleId?: string;
  repositoryName?: string;
}

/** Synapse's EntityType names, as `POST /entity/children` filters on them. */
export const ENTITY_TYPES = [
  'project',
  'folder',
  'file',
  'table',
  'link',
  'entityview',
  'dockerrepo',
  'submissionview',
  'dataset',
  'datasetcollection',
  'materializedview',
  'virtualtable',
] as const;
export type EntityTypeName = (typeof ENTITY_TYPES)[number];

export interface EntityHeader {
  id: string;
  name: string;
  type: string;
  versionNumber?: number;
  versionLabel?: string;
  isLatestVersion?: boolean;
  benefactorId?: number;
  createdOn?: string;
  modifiedOn?: string;
  createdBy?: string;
  modifiedBy?: string;
}

export interface FileHandle {
  id: string;
  etag: string;
  concreteType: string;
  createdBy: string;
  createdOn: string;
  modifiedOn?: string;
  contentType?: string;
  contentMd5?: string;
  contentSize?: number;
  fileName: string;
  storageLocationId?: number;
  status?: 'AVAILABLE' | 'UNLINKED' | 'ARCHIVED';
  /** S3FileHandle only. */
  bucketName?: string;
  key?: string;
  /** ExternalFileHandle only. */
  externalURL?: string;
}

export type AccessType =
  | 'CREATE'
  | 'READ'
  | 'UPDATE'
  | 'DELETE'
  | 'CHANGE_PERMISSIONS'
  | 'DOWNLOAD'
  | 'UPLOAD'
  | 'PARTICIPATE'
  | 'SUBMIT'
  | 'READ_PRIVATE_SUBMISSION'
  | 'UPDATE_SUBMISSION'
  | 'DELETE_SUBMISSION'
  | 'TEAM_MEMBERSHIP_UPDATE'
  | 'SEND_MESSAGE'
  | 'CHANGE_SETTINGS'
  | 'MODERATE'
  | 'REVIEW_SUBMISSIONS'
  | 'EXEMPTION_ELIGIBLE';

export const ENTITY_ADMIN_ACCESS: readonly AccessType[] = [
  'READ',
  'DOWNLOAD',
  'UPDATE',
  'DELETE',
  'CREATE',
  'CHANGE_PERMISSIONS',
  'CHANGE_SETTINGS',
  'MODERATE',
];

export interface ResourceAccess {
  /** A JSON number here, unlike every other principal id. */
  principalId: number;
  accessType: AccessType[];
}

export interface AccessControlList {
  id: string;
  etag?: string;
  creationDate?: string;
  resourceAccess: ResourceAccess[];
}

export interface MultipartUploadRequest {
  concreteType?: string;
  fileName: string;
  contentType?: string;
  contentMD5Hex: string;
  fileSizeBytes: number;
  partSizeBytes: number;
  generatePreview?: boolean;
  storageLocationId?: number | null;
}

export interface MultipartUploadStatus {
  uploadId: string;
  startedBy: string;
  startedOn: string;
  updatedOn: string;
  partsState: string;
  state: 'UPLOADING' | 'COMPLETED';
  resultFileHandleId?: string;
}

export interface PartPresignedUrl {
  partNumber: number;
  uploadPresignedUrl: string;
  signedHeaders: Record<string, string>;
}

export interface AddPartResponse {
  uploadId: string;
  partNumber: number;
  addPartState: 'ADD_SUCCESS' | 'ADD_FAILED';
  errorMessage?: string;
}

export type FileHandleAssociateType = 'FileEntity' | 'SubmissionAttachment' | 'MessageAttachment';

export interface BatchFileRequest {
  requestedFiles: {
    fileHandleId: string;
    associateObjectId: string;
    associateObjectType: FileHandleAssociateType;
  }[];
  includeFileHandles?: boolean;
  includePreSignedURLs?: boolean;
  includePreviewPreSignedURLs?: boolean;
}

export interface BatchFileResult {
  requestedFiles: {
    fileHandleId: string;
    fileHandle?: FileHandle;
    preSignedURL?: string;
    failureCode?: 'NOT_FOUND' | 'UNAUTHORIZED';
  }[];
}

export interface MessageToUser {
  id: string;
  createdBy: string;
  fileHandleId: string;
  createdOn: string;
  recipients: string[];
  subject?: string;
}
