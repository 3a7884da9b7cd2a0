/** Local platform routes: messages (/repo/v1/message). */
import type { RouteModule } from '../context.js';

export const registerMessageRoutes: RouteModule = () => {
  // Not implemented yet.
};
