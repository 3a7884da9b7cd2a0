/**
 * Local platform routes: who am I, other users' profiles and bundles, teams and a user's teams, and the
 * name lookups clients make when given a name instead of an id (GET /userGroupHeaders?prefix=,
 * GET /teams?fragment=).
 */
import type { RouteModule } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import type { PlatformState } from '../state.js';
import { paginate, parsePage } from '../submissions.js';

type PageQuery = { limit?: string; offset?: string };

/** The bits of GET /user/{id}/bundle's mask (Synapse's UserBundle). */
const MASK = {
  userProfile: 0x1,
  orcid: 0x2,
  verificationSubmission: 0x4,
  isCertified: 0x8,
  isVerified: 0x10,
  isACTMember: 0x20,
} as const;

function ownProfile(state: PlatformState, principalId: string) {
  const profile = state.users[principalId];
  if (profile === undefined) throw notFound(`UserProfile cannot be found for: ${principalId}`);
  return profile;
}

function publicProfile(state: PlatformState, principalId: string) {
  const { emails: _hidden, ...visible } = ownProfile(state, principalId);
  return visible;
}

/** A team as anyone sees it: its members are listed elsewhere (/teamMembers), not on the team. */
function teamView(team: PlatformState['teams'][string]) {
  const { members: _members, ...visible } = team;
  return visible;
}

const startsWith = (value: string | undefined, prefix: string) =>
  value !== undefined && value.toLowerCase().startsWith(prefix.toLowerCase());

/** Users and teams whose name (or a user's first or last name) starts with the prefix. */
function userGroupHeaders(state: PlatformState, prefix: string) {
  const users = Object.values(state.users)
    .filter((u) => [u.userName, u.firstName, u.lastName].some((name) => startsWith(name, prefix)))
    .map((u) => ({
      ownerId: u.ownerId,
      userName: u.userName,
      ...(u.firstName === undefined ? {} : { firstName: u.firstName }),
      ...(u.lastName === undefined ? {} : { lastName: u.lastName }),
      isIndividual: true,
    }));
  const teams = Object.values(state.teams)
    .filter((team) => startsWith(team.name, prefix))
    .map((team) => ({ ownerId: team.id, userName: team.name, isIndividual: false }));
  return [...users, ...teams].sort((a, b) => a.userName.localeCompare(b.userName));
}

export const registerProfileRoutes: RouteModule = (app, { store }) => {
  app.get('/repo/v1/userProfile', (request) => ownProfile(store.state, request.principalId));
  // synapseclient's login asks with a trailing slash: the same question.
  app.get('/repo/v1/userProfile/', (request) => ownProfile(store.state, request.principalId));

  app.get<{ Params: { id: string } }>('/repo/v1/userProfile/:id', (request) =>
    publicProfile(store.state, request.params.id),
  );

  app.get<{ Params: { id: string } }>('/repo/v1/team/:id', (request) => {
    const team = store.state.teams[request.params.id];
    if (team === undefined) throw notFound(`Team does not exist: ${request.params.id}`);
    return teamView(team);
  });

  // synapseclient resolves a user or team name this way (getUserProfile('name'), setPermissions(e, 'name')).
  app.get<{ Querystring: PageQuery & { prefix?: string } }>('/repo/v1/userGroupHeaders', (request) => {
    const prefix = request.query.prefix ?? '';
    const { limit, offset } = parsePage({ limit: request.query.limit ?? '10', offset: request.query.offset });
    const all = userGroupHeaders(store.state, prefix);
    return {
      prefixFilter: prefix,
      totalNumberOfResults: all.length,
      children: all.slice(offset, offset + limit),
    };
  });

  // getTeam('name'): teams whose name starts with the fragment.
  app.get<{ Querystring: PageQuery & { fragment?: string } }>('/repo/v1/teams', (request) => {
    const fragment = request.query.fragment ?? '';
    const teams = Object.values(store.state.teams)
      .filter((team) => startsWith(team.name, fragment))
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map(teamView);
    return paginate(teams, parsePage(request.query));
  });

  // The teams a principal belongs to: none for a team or an unknown principal.
  app.get<{ Params: { id: string }; Querystring: PageQuery }>('/repo/v1/user/:id/team', (request) => {
    const teams = Object.values(store.state.teams)
      .filter((team) => team.members.includes(request.params.id))
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map(teamView);
    return paginate(teams, parsePage(request.query));
  });

  // The certification quiz's passing record: every user here passed it (is_certified in synapseclient 4.x).
  app.get<{ Params: { id: string } }>('/repo/v1/user/:id/certifiedUserPassingRecord', (request) => {
    const profile = publicProfile(store.state, request.params.id);
    return {
      userId: profile.ownerId,
      quizId: 1,
      responseId: Number(profile.ownerId),
      score: 10,
      passed: true,
      certified: true,
      revoked: false,
      passedOn: profile.createdOn ?? new Date(0).toISOString(),
      corrections: [],
    };
  });

  app.get<{ Params: { id: string }; Querystring: { mask?: string } }>(
    '/repo/v1/user/:id/bundle',
    (request) => {
      const mask = request.query.mask === undefined ? 0 : Number(request.query.mask);
      if (!Number.isInteger(mask) || mask < 0) throw badRequest(`Invalid mask: ${request.query.mask}`);
      const userId = request.params.id;
      const profile = publicProfile(store.state, userId);
      return {
        userId,
        ...((mask & MASK.userProfile) !== 0
          ? { userProfile: userId === request.principalId ? ownProfile(store.state, userId) : profile }
          : {}),
        // No certification quiz, identity verification or ACT here: every user is certified.
        ...((mask & MASK.isCertified) !== 0 ? { isCertified: true } : {}),
        ...((mask & MASK.isVerified) !== 0 ? { isVerified: false } : {}),
        ...((mask & MASK.isACTMember) !== 0 ? { isACTMember: false } : {}),
      };
    },
  );
};
