/**
 * Administration of the local platform, outside Synapse's paths: seed users (with tokens), teams,
 * projects and evaluations; inspect state; inject faults. Needs the admin token (see server.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  CONCRETE,
  ENTITY_ADMIN_ACCESS,
  type AccessType,
  type NewEntity,
  type SubmissionStatusEnum,
  type UserProfile,
  type V2AnnotationValue,
} from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import { storeExternalFileHandle, storeFileBytes } from '../files.js';
import { validateAnnotations } from '../annotations.js';
import { createSubmission, requireSubmission, statusView, touchStatus } from '../submissions.js';
import type { FaultRule } from '../faults.js';
import { entityView, insertEntity } from '../records.js';
import { PlatformStore } from '../store.js';

export interface NewUserRequest {
  userName: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  /** Use this token instead of a generated one (tests hand in their own). */
  token?: string;
}

export interface NewTemplateRequest {
  name: string;
  parentId: string;
  ownerId: string;
  /** ROOT_TEMPLATE: the workflow's path inside the archive. Omit to make a broken template on purpose. */
  rootTemplate?: string;
  /** The archive as an external URL (SWO's way)… */
  externalURL?: string;
  /** …or uploaded bytes (a zip or tar.gz). */
  archiveBase64?: string;
  fileName?: string;
}

export interface NewSubmissionRequest {
  evaluationId: string;
  /** The submitting user; they get SUBMIT on the queue if they lack it. */
  userId: string;
  teamId?: string;
  name?: string;
  /** A file submission. */
  file?: { name: string; contentBase64: string; contentType?: string };
  /** A Docker image submission: a repository and the image digest. */
  docker?: { repositoryName: string; digest: string };
}

export interface StatusEdit {
  status?: SubmissionStatusEnum;
  /** v2 annotations to set (merged into the existing map). */
  submissionAnnotations?: Record<string, V2AnnotationValue>;
  /** v1 string annotations to set (isPrivate defaults to true, as on Synapse). */
  stringAnnos?: { key: string; value: string; isPrivate?: boolean }[];
}

export interface NewEvaluationRequest {
  name: string;
  ownerId: string;
  /** Project the queue belongs to; a new project is made when absent. */
  contentSource?: string;
  /** principalId -> access types (e.g. the orchestrator: READ, READ_PRIVATE_SUBMISSION, UPDATE_SUBMISSION). */
  permissions?: Record<string, AccessType[]>;
  submissionReceiptMessage?: string;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === null || value === '') throw badRequest(`${name} is required.`);
  return value;
}

export const registerAdminRoutes: RouteModule = (app, { store, faults }) => {
  const requireOwnerAndParent = (ownerId: string, parentId: string) => {
    if (store.state.users[ownerId] === undefined) throw badRequest(`No user ${ownerId}`);
    if (store.state.entities[parentId] === undefined) throw badRequest(`No entity ${parentId}`);
  };

  app.post<{ Body: NewUserRequest }>('/__local/users', (request) => {
    const body = request.body;
    const userName = required(body.userName, 'userName');
    if (Object.values(store.state.users).some((u) => u.userName === userName)) {
      throw badRequest(`User name ${userName} is taken.`);
    }
    const token = body.token ?? `local-${randomBytes(32).toString('base64url')}`;
    const profile = store.change((state) => {
      const ownerId = store.nextId();
      const user: UserProfile = {
        ownerId,
        userName,
        ...(body.firstName === undefined ? {} : { firstName: body.firstName }),
        ...(body.lastName === undefined ? {} : { lastName: body.lastName }),
        emails: [body.email ?? `${userName}@example.org`],
        etag: PlatformStore.etag(),
        createdOn: PlatformStore.now(),
      };
      state.users[ownerId] = user;
      state.tokens[token] = ownerId;
      return user;
    });
    return { ...profile, token };
  });

  app.post<{ Params: { id: string } }>('/__local/users/:id/tokens', (request) => {
    if (store.state.users[request.params.id] === undefined) throw notFound(`No user ${request.params.id}`);
    const token = `local-${randomBytes(32).toString('base64url')}`;
    store.change((state) => {
      state.tokens[token] = request.params.id;
    });
    return { token };
  });

  app.post<{ Body: { name: string; members?: string[] } }>('/__local/teams', (request) => {
    const name = required(request.body.name, 'name');
    const members = request.body.members ?? [];
    for (const member of members)
      if (store.state.users[member] === undefined) throw badRequest(`No user ${member}`);
    return store.change((state) => {
      const now = PlatformStore.now();
      const team = {
        id: store.nextId(),
        name,
        members,
        etag: PlatformStore.etag(),
        createdOn: now,
        modifiedOn: now,
      };
      state.teams[team.id] = team;
      return team;
    });
  });

  app.post<{ Body: { name: string; ownerId: string } }>('/__local/projects', (request) => {
    const ownerId = required(request.body.ownerId, 'ownerId');
    if (store.state.users[ownerId] === undefined) throw badRequest(`No user ${ownerId}`);
    const name = required(request.body.name, 'name');
    return store.change(() =>
      entityView(insertEntity(store, ownerId, { name, concreteType: CONCRETE.project })),
    );
  });

  app.post<{ Body: { name: string; parentId: string; ownerId: string } }>('/__local/folders', (request) => {
    const { name, parentId, ownerId } = request.body;
    requireOwnerAndParent(required(ownerId, 'ownerId'), required(parentId, 'parentId'));
    return store.change(() =>
      entityView(
        insertEntity(store, ownerId, {
          name: required(name, 'name'),
          concreteType: CONCRETE.folder,
          parentId,
        }),
      ),
    );
  });

  /** A workflow template entity: a file (an external URL, or an uploaded archive) with ROOT_TEMPLATE. */
  app.post<{ Body: NewTemplateRequest }>('/__local/templates', (request) => {
    const body = request.body;
    const ownerId = required(body.ownerId, 'ownerId');
    const parentId = required(body.parentId, 'parentId');
    requireOwnerAndParent(ownerId, parentId);
    if ((body.externalURL === undefined) === (body.archiveBase64 === undefined)) {
      throw badRequest('Give exactly one of externalURL or archiveBase64.');
    }
    return store.change(() => {
      const fileName = body.fileName ?? (body.externalURL ?? '').split('/').pop() ?? 'workflow.zip';
      const handle =
        body.externalURL !== undefined
          ? storeExternalFileHandle(store, ownerId, body.externalURL, fileName || 'workflow.zip')
          : storeFileBytes(
              store,
              ownerId,
              Buffer.from(body.archiveBase64 ?? '', 'base64'),
              fileName,
              'application/zip',
            );
      const entity = insertEntity(store, ownerId, {
        name: required(body.name, 'name'),
        concreteType: CONCRETE.fileEntity,
        parentId,
        dataFileHandleId: handle.id,
      });
      if (body.rootTemplate !== undefined)
        entity.annotations.ROOT_TEMPLATE = { type: 'STRING', value: [body.rootTemplate] };
      return { ...entityView(entity), fileHandle: handle };
    });
  });

  app.post<{ Body: NewEvaluationRequest }>('/__local/evaluations', (request) => {
    const body = request.body;
    const ownerId = required(body.ownerId, 'ownerId');
    if (store.state.users[ownerId] === undefined) throw badRequest(`No user ${ownerId}`);
    const name = required(body.name, 'name');
    if (body.contentSource !== undefined && store.state.entities[body.contentSource] === undefined) {
      throw badRequest(`No entity ${body.contentSource}`);
    }
    return store.change((state) => {
      const contentSource =
        body.contentSource ??
        insertEntity(store, ownerId, { name: `${name} project`, concreteType: CONCRETE.project }).id;
      const evaluation = {
        id: store.nextId(),
        etag: PlatformStore.etag(),
        name,
        ownerId,
        createdOn: PlatformStore.now(),
        contentSource,
        ...(body.submissionReceiptMessage === undefined
          ? {}
          : { submissionReceiptMessage: body.submissionReceiptMessage }),
        permissions: body.permissions ?? {},
      };
      state.evaluations[evaluation.id] = evaluation;
      const { permissions: _permissions, ...view } = evaluation;
      return view;
    });
  });

  app.post<{ Body: NewSubmissionRequest }>('/__local/submissions', (request, reply) => {
    const body = request.body;
    const userId = required(body.userId, 'userId');
    const evaluation = store.state.evaluations[required(body.evaluationId, 'evaluationId')];
    if (evaluation === undefined) throw badRequest(`No evaluation ${body.evaluationId}`);
    if (store.state.users[userId] === undefined) throw badRequest(`No user ${userId}`);
    if ((body.file === undefined) === (body.docker === undefined)) {
      throw badRequest('Give exactly one of file or docker.');
    }
    const submission = store.change((state) => {
      // The submitted entity lives in the queue's project, as participants' entities usually do.
      const parentId = evaluation.contentSource;
      const stamp = store.nextId();
      let fields: NewEntity;
      if (body.file !== undefined) {
        const bytes = Buffer.from(body.file.contentBase64, 'base64');
        const handle = storeFileBytes(
          store,
          userId,
          bytes,
          body.file.name,
          body.file.contentType ?? 'application/octet-stream',
        );
        fields = {
          name: `${stamp}-${body.file.name}`,
          concreteType: CONCRETE.fileEntity,
          parentId,
          dataFileHandleId: handle.id,
        };
      } else {
        const repositoryName = required(body.docker?.repositoryName, 'docker.repositoryName');
        fields = {
          name: `${stamp}-${repositoryName.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
          concreteType: CONCRETE.dockerRepository,
          parentId,
          repositoryName,
        };
      }
      const entity = insertEntity(store, userId, fields);
      // Let the submitter read their entity even when the project's ACL does not name them.
      state.acls[entity.id] = {
        id: entity.id,
        etag: PlatformStore.etag(),
        creationDate: PlatformStore.now(),
        resourceAccess: [
          { principalId: Number(userId), accessType: [...ENTITY_ADMIN_ACCESS] },
          { principalId: Number(evaluation.ownerId), accessType: [...ENTITY_ADMIN_ACCESS] },
        ],
      };
      const permissions = evaluation.permissions[userId] ?? [];
      if (!permissions.includes('SUBMIT') && evaluation.ownerId !== userId) {
        evaluation.permissions[userId] = [...permissions, 'READ', 'SUBMIT'];
      }
      return createSubmission(
        store,
        userId,
        {
          evaluationId: evaluation.id,
          entityId: entity.id,
          ...(body.teamId === undefined ? {} : { teamId: body.teamId }),
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.docker === undefined ? {} : { dockerDigest: body.docker.digest }),
        },
        undefined,
      );
    });
    return reply.code(201).send(submission);
  });

  app.post<{ Params: { id: string }; Body: { force?: boolean } | undefined }>(
    '/__local/submissions/:id/cancel',
    (request, reply) => {
      requireSubmission(store.state, request.params.id);
      const status = store.state.statuses[request.params.id];
      if (status === undefined) throw notFound(`No status for ${request.params.id}`);
      if (status.canCancel !== true && request.body?.force !== true) {
        throw forbidden('This submission is currently noncancellable.');
      }
      store.change(() => {
        status.cancelRequested = true;
        touchStatus(status);
      });
      return reply.code(204).send();
    },
  );

  /** Edits a status the way a workflow step would (read, merge, write), bumping its etag. */
  app.patch<{ Params: { id: string }; Body: StatusEdit }>('/__local/submissions/:id/status', (request) => {
    requireSubmission(store.state, request.params.id);
    const status = store.state.statuses[request.params.id];
    if (status === undefined) throw notFound(`No status for ${request.params.id}`);
    const edit = request.body;
    const additions = validateAnnotations(edit.submissionAnnotations ?? {});
    return store.change((state) => {
      if (edit.status !== undefined) status.status = edit.status;
      Object.assign(status.submissionAnnotations, additions);
      for (const entry of edit.stringAnnos ?? []) {
        const annotations = (status.annotations ??= {});
        annotations.stringAnnos = [
          ...(annotations.stringAnnos ?? []).filter((a) => a.key !== entry.key),
          { isPrivate: true, ...entry },
        ];
      }
      touchStatus(status);
      return statusView(state, status, true);
    });
  });

  app.get('/__local/dump', () => {
    const { tokens: _tokens, ...visible } = store.state;
    return visible;
  });

  /** When each status and entity was written since the platform started (journal.ts). */
  app.get('/__local/journal', () => store.journal.read());

  app.post<{ Body: FaultRule }>('/__local/faults', (request, reply) => {
    try {
      return reply.code(201).send(faults.add(request.body));
    } catch (error) {
      throw badRequest(`Bad fault rule: ${(error as Error).message}`);
    }
  });
  app.get('/__local/faults', () => faults.list());
  app.delete<{ Querystring: { seed?: string } }>('/__local/faults', (request, reply) => {
    faults.clear(request.query.seed === undefined ? undefined : Number(request.query.seed));
    return reply.code(204).send();
  });
};
