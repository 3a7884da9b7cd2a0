/** Local platform routes: entity ACLs (/repo/v1/entity/{id}/acl). */
import type { RouteModule } from '../context.js';

export const registerAclRoutes: RouteModule = () => {
  // Not implemented yet.
};
