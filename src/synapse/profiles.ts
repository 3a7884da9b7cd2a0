/** Users and teams (synapse-rest.md §1.3). */
import type { SynapseHttp } from './http.js';
import type { Team, UserProfile } from './types.js';

export class ProfileApi {
  constructor(private readonly http: SynapseHttp) {}

  /** The account the token belongs to. */
  me(): Promise<UserProfile> {
    return this.http.request({ api: 'repo', method: 'GET', path: '/userProfile' });
  }

  user(principalId: string): Promise<UserProfile> {
    return this.http.request({ api: 'repo', method: 'GET', path: `/userProfile/${principalId}` });
  }

  team(teamId: string): Promise<Team> {
    return this.http.request({ api: 'repo', method: 'GET', path: `/team/${teamId}` });
  }
}
