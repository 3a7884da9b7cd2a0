/** Local platform routes: the fake S3 behind presigned URLs (/s3/...). */
import type { RouteModule } from '../context.js';

export const registerObjectStoreRoutes: RouteModule = () => {
  // Not implemented yet.
};
