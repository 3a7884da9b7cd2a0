/**
 * Platform calls by endpoint, and which of them are polling. Shared by the lifecycle benchmark and the
 * suite (bench/run.ts): a call is counted once however many attempts it took (the count is of what the
 * orchestrator asks for, at SynapseHttp.request).
 */
import type { SynapseRequest } from '../../src/synapse/http.js';

/** `GET /evaluation/9614045/submission/bundle/all` → `GET /repo/v1/evaluation/{id}/submission/bundle/all` */
export const endpointOf = (request: Pick<SynapseRequest, 'api' | 'method' | 'path'>): string =>
  `${request.method} /${request.api}/v1${request.path.replace(/\/(syn)?\d+(?=\/|$)/g, '/{id}')}`;

/** The queue listings and the per-tick template check: made every tick whatever the queue holds. */
const POLLING = [/bundle\/all$/, /^GET \/repo\/v1\/entity\/\{id\}$/];
/** Once per template version (the download) or once per process (who am I), not per submission. */
const ONE_TIME = [/annotations2$/, /filehandles$/, /fileHandle\/batch$/, /^GET \/repo\/v1\/userProfile$/];

export type CallKind = 'polling' | 'one-time' | 'submission';

export const kindOf = (endpoint: string): CallKind =>
  POLLING.some((p) => p.test(endpoint))
    ? 'polling'
    : ONE_TIME.some((p) => p.test(endpoint))
      ? 'one-time'
      : 'submission';

/** Counts by endpoint, split by kind. */
export function splitCalls(calls: Record<string, number>): Record<CallKind, [string, number][]> {
  const split: Record<CallKind, [string, number][]> = { polling: [], 'one-time': [], submission: [] };
  for (const [endpoint, n] of Object.entries(calls).sort(([a], [b]) => a.localeCompare(b))) {
    split[kindOf(endpoint)].push([endpoint, n]);
  }
  return split;
}

export const total = (entries: [string, number][]): number => entries.reduce((sum, [, n]) => sum + n, 0);
