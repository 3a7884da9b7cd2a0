/**
 * The platform calls a daemon makes, by endpoint and by why they were made. Shared by the suite's daemon
 * host and bench/lifecycle.ts. A call is counted once however many attempts it took (the count is of
 * what the orchestrator asks for, at SynapseHttp.request).
 *
 * Why a call was made is told by where it was made, not guessed from its endpoint (a GET /entity/{id} is
 * the per-tick template check, or the read before a log file's new version): calls made inside the queue
 * listing are polling, calls made inside the template's preparation are the template's, and the rest are
 * the submissions' except the account lookup made once per process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Services } from '../../src/evaluation/services.js';
import type { SynapseRequest } from '../../src/synapse/http.js';

/** `GET /evaluation/9614045/submission/bundle/all` → `GET /repo/v1/evaluation/{id}/submission/bundle/all` */
export const endpointOf = (request: Pick<SynapseRequest, 'api' | 'method' | 'path'>): string =>
  `${request.method} /${request.api}/v1${request.path.replace(/\/(syn)?\d+(?=\/|$)/g, '/{id}')}`;

/**
 * - polling: the queue listings, every tick whatever the queues hold;
 * - template: the template's check (each tick that starts something) and its download (per version);
 * - one-time: who the orchestrator is, once per process;
 * - submission: everything done for a submission (claims, folders, logs, statuses, messages).
 */
export type CallKind = 'polling' | 'template' | 'one-time' | 'submission';

const ONE_TIME = /^GET \/repo\/v1\/userProfile$/;

export type CallCounts = Record<CallKind, Record<string, number>>;

export interface CallCounter {
  counts(): CallCounts;
  reset(): void;
}

/** Wraps the daemon's client so that every call is counted, by kind and endpoint. */
export function countCalls(services: Pick<Services, 'client' | 'templates'>): CallCounter {
  const during = new AsyncLocalStorage<CallKind>();
  const within = <A extends unknown[], R>(kind: CallKind, fn: (...args: A) => R) => {
    return (...args: A): R => during.run(kind, () => fn(...args));
  };
  const { evaluations } = services.client;
  evaluations.bundles = within('polling', evaluations.bundles.bind(evaluations));
  services.templates.prepare = within('template', services.templates.prepare.bind(services.templates));

  let counts = empty();
  const http = services.client.http;
  const original = http.request.bind(http);
  http.request = <T>(request: SynapseRequest): Promise<T> => {
    const endpoint = endpointOf(request);
    const kind = during.getStore() ?? (ONE_TIME.test(endpoint) ? 'one-time' : 'submission');
    counts[kind][endpoint] = (counts[kind][endpoint] ?? 0) + 1;
    return original<T>(request);
  };
  return {
    counts: () => structuredClone(counts),
    reset: () => {
      counts = empty();
    },
  };
}

function empty(): CallCounts {
  return { polling: {}, template: {}, 'one-time': {}, submission: {} };
}

/** Sorted entries of one kind. */
export const entries = (calls: Record<string, number>): [string, number][] =>
  Object.entries(calls).sort(([a], [b]) => a.localeCompare(b));

export const total = (calls: Record<string, number>): number =>
  Object.values(calls).reduce((sum, n) => sum + n, 0);
