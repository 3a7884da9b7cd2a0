/** What each route module of the local platform gets: the store, the faults, and the server's own URL. */
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from './faults.js';
import type { PlatformStore } from './store.js';

export interface PlatformContext {
  store: PlatformStore;
  faults: FaultInjector;
  adminToken: string;
  /** e.g. http://127.0.0.1:41234, known once the server listens. */
  baseUrl: () => string;
  /** The object store's own origin, e.g. http://127.0.0.1:41235 (used to build presigned URLs). */
  objectStoreUrl: () => string;
  messageLimit: { count: number; windowMs: number };
}

/** A route module registers its routes (with their full paths, e.g. /repo/v1/entity) on the app. */
export type RouteModule = (app: FastifyInstance, context: PlatformContext) => void;
