/** Local platform routes: evaluations, submissions and their statuses. */
import type { RouteModule } from '../context.js';

export const registerEvaluationRoutes: RouteModule = () => {
  // Not implemented yet.
};
