/** Local platform routes: file handles and multipart uploads (/file/v1/...). */
import type { RouteModule } from '../context.js';

export const registerFileRoutes: RouteModule = () => {
  // Not implemented yet.
};
