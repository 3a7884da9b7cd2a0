/**
 * Administration of the local platform, outside Synapse's paths: seed users (with tokens), teams,
 * projects and evaluations; inspect state; inject faults. Needs the admin token (see server.ts).
 */
import { randomBytes } from 'node:crypto';
import { CONCRETE, type AccessType, type UserProfile } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { badRequest, notFound } from '../errors.js';
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

  app.get('/__local/dump', () => {
    const { tokens: _tokens, ...visible } = store.state;
    return visible;
  });

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
