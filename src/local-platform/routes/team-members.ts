/**
 * Local platform routes: a team's members, one member, and a user's membership status, as synapseclient
 * 4.x asks for them (Team.members, syn.getTeamMembers, Team.get_user_membership_status).
 *
 * Teams are made by the administration routes only, so nobody has an open invitation or request, no team
 * can be joined from outside, and only a team's creator (if a user made it) is its admin.
 */
import type { RouteModule } from '../context.js';
import { notFound } from '../errors.js';
import type { PlatformState, StoredTeam } from '../state.js';
import { parsePage } from '../submissions.js';

type PageQuery = { limit?: string; offset?: string; fragment?: string };

function requireTeam(state: PlatformState, teamId: string): StoredTeam {
  const team = state.teams[teamId];
  if (team === undefined) throw notFound(`Team does not exist: ${teamId}`);
  return team;
}

/** A TeamMember: the team, the member's UserGroupHeader, and whether they administer the team. */
function teamMember(state: PlatformState, team: StoredTeam, principalId: string) {
  const user = state.users[principalId];
  return {
    teamId: team.id,
    member: {
      ownerId: principalId,
      ...(user === undefined ? {} : { userName: user.userName }),
      ...(user?.firstName === undefined ? {} : { firstName: user.firstName }),
      ...(user?.lastName === undefined ? {} : { lastName: user.lastName }),
      isIndividual: true,
    },
    isAdmin: team.createdBy === principalId,
  };
}

const matches = (state: PlatformState, principalId: string, fragment: string) => {
  if (fragment === '') return true;
  const user = state.users[principalId];
  const needle = fragment.toLowerCase();
  return [user?.userName, user?.firstName, user?.lastName].some(
    (name) => name !== undefined && name.toLowerCase().startsWith(needle),
  );
};

export const registerTeamMemberRoutes: RouteModule = (app, { store }) => {
  // Paged by limit/offset; unlike most pages, the total is the exact number of (matching) members.
  app.get<{ Params: { id: string }; Querystring: PageQuery }>('/repo/v1/teamMembers/:id', (request) => {
    const team = requireTeam(store.state, request.params.id);
    const { limit, offset } = parsePage(request.query);
    const members = [...team.members]
      .filter((id) => matches(store.state, id, request.query.fragment ?? ''))
      .sort((a, b) => Number(a) - Number(b));
    return {
      totalNumberOfResults: members.length,
      results: members.slice(offset, offset + limit).map((id) => teamMember(store.state, team, id)),
    };
  });

  app.get<{ Params: { id: string; principalId: string } }>(
    '/repo/v1/team/:id/member/:principalId',
    (request) => {
      const team = requireTeam(store.state, request.params.id);
      if (!team.members.includes(request.params.principalId)) {
        throw notFound(`Could not find member ${request.params.principalId} in team ${team.id}`);
      }
      return teamMember(store.state, team, request.params.principalId);
    },
  );

  app.get<{ Params: { id: string; principalId: string } }>(
    '/repo/v1/team/:id/member/:principalId/membershipStatus',
    (request) => {
      const team = requireTeam(store.state, request.params.id);
      const userId = request.params.principalId;
      if (store.state.users[userId] === undefined) throw notFound(`User does not exist: ${userId}`);
      return {
        teamId: team.id,
        userId,
        isMember: team.members.includes(userId),
        hasOpenInvitation: false,
        hasOpenRequest: false,
        canJoin: false,
        membershipApprovalRequired: true,
        hasUnmetAccessRequirement: false,
        canSendEmail: true,
      };
    },
  );
};
