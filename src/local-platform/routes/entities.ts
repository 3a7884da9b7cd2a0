/** Local platform routes: entities (/repo/v1/entity...): create, get, update, child lookup, children, annotations2, filehandles, benefactor. */
import type { RouteModule } from '../context.js';

export const registerEntityRoutes: RouteModule = () => {
  // Not implemented yet.
};
