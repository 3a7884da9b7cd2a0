/** Local platform routes: who am I, other users' profiles, teams. */
import type { RouteModule } from '../context.js';
import { notFound } from '../errors.js';

export const registerProfileRoutes: RouteModule = (app, { store }) => {
  app.get('/repo/v1/userProfile', (request) => {
    const profile = store.state.users[request.principalId];
    if (profile === undefined) throw notFound(`UserProfile cannot be found for: ${request.principalId}`);
    return profile;
  });

  app.get<{ Params: { id: string } }>('/repo/v1/userProfile/:id', (request) => {
    const profile = store.state.users[request.params.id];
    if (profile === undefined) throw notFound(`UserProfile cannot be found for: ${request.params.id}`);
    const { emails: _hidden, ...visible } = profile;
    return visible;
  });

  app.get<{ Params: { id: string } }>('/repo/v1/team/:id', (request) => {
    const team = store.state.teams[request.params.id];
    if (team === undefined) throw notFound(`Team does not exist: ${request.params.id}`);
    const { members: _members, ...visible } = team;
    return visible;
  });
};
