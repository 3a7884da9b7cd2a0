/**
 * Local platform routes: the tag/digest commits of an unmanaged Docker repository entity
 * (POST /entity/{id}/dockerCommit, GET /entity/{id}/dockerTag), which `submit` records before submitting
 * an image from another registry than Synapse's. Managed (docker.synapse.org) repositories get their
 * commits from a push, so they are refused here as Synapse refuses them.
 */
import { CONCRETE } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { normalizeEntityId, optionalString, requireBody, requireEntity } from '../entities.js';
import { badRequest, forbidden } from '../errors.js';
import { canAccessEntity } from '../permissions.js';
import type { DockerCommitRecord } from '../state.js';
import { PlatformStore } from '../store.js';
import { paginate, parsePage } from '../submissions.js';

/** Repositories in Synapse's own registry, whose commits only a push to that registry can create. */
const MANAGED_REGISTRY = 'docker.synapse.org/';
const DOCKER_DIGEST = /^sha256:[0-9a-f]{64}$/;
const DOCKER_TAG = /^\w[\w.-]{0,127}$/;

export const registerDockerCommitRoutes: RouteModule = (app, { store }) => {
  app.post<{ Params: { id: string } }>('/repo/v1/entity/:id/dockerCommit', (request, reply) => {
    const state = store.state;
    const entity = requireEntity(state, normalizeEntityId(request.params.id));
    if (entity.concreteType !== CONCRETE.dockerRepository) {
      throw badRequest(`Entity ${entity.id} is not a DockerRepository.`);
    }
    if ((entity.repositoryName ?? entity.name).startsWith(MANAGED_REGISTRY)) {
      throw badRequest(
        'Commits for managed Docker repositories are created using the Docker client rather than the Synapse client.',
      );
    }
    if (!canAccessEntity(state, entity.id, request.principalId, 'UPDATE')) {
      throw forbidden(`You lack UPDATE permission on the requested entity: ${entity.id}.`);
    }
    const body = requireBody(request.body);
    const digest = optionalString(body, 'digest');
    if (digest === undefined) throw badRequest('digest is required.');
    if (!DOCKER_DIGEST.test(digest)) throw badRequest(`Invalid digest: ${digest}`);
    const tag = optionalString(body, 'tag');
    if (tag !== undefined && !DOCKER_TAG.test(tag)) throw badRequest(`Invalid tag: ${tag}`);
    store.change((draft) => {
      const commits = (draft.dockerCommits ??= {});
      const list = (commits[entity.id] ??= []);
      list.push({ ...(tag === undefined ? {} : { tag }), digest, createdOn: PlatformStore.now() });
      const stored = draft.entities[entity.id];
      if (stored !== undefined) {
        stored.etag = PlatformStore.etag();
        stored.modifiedOn = PlatformStore.now();
        stored.modifiedBy = request.principalId;
      }
    });
    return reply.code(201).send();
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string; offset?: string } }>(
    '/repo/v1/entity/:id/dockerTag',
    (request) => {
      const state = store.state;
      const entity = requireEntity(state, normalizeEntityId(request.params.id));
      if (!canAccessEntity(state, entity.id, request.principalId, 'READ')) {
        throw forbidden(`You lack READ permission on the requested entity: ${entity.id}.`);
      }
      // The latest commit of each tag, newest first (Synapse's default order).
      const latest = new Map<string, DockerCommitRecord>();
      for (const commit of state.dockerCommits?.[entity.id] ?? []) latest.set(commit.tag ?? '', commit);
      const commits = [...latest.values()].sort((a, b) => b.createdOn.localeCompare(a.createdOn));
      return paginate(commits, parsePage(request.query));
    },
  );
};
