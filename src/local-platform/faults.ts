/**
 * Fault injection for tests: per route, answer with an error status or with a raw body of one's choosing
 * (a proxy's HTML page, a truncated or malformed JSON answer), add latency, or drop the connection, at a
 * given rate (seeded, so a run is repeatable) and optionally a limited number of times.
 */
import { randomUUID } from 'node:crypto';

export interface FaultRule {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Regular expression matched against the request path (no query string), e.g. "^/repo/v1/entity$". */
  path: string;
  /** Regular expression matched against the query string (without '?'); any query when absent. */
  query?: string;
  /** Answer with this status (and a Synapse error body, unless `body` is given) instead of running the route. */
  status?: number;
  reason?: string;
  /**
   * Answer with exactly this body instead of running the route (status `status`, default 200): an HTML
   * error page, invalid JSON, JSON of the wrong shape.
   */
  body?: string;
  /** The Content-Type of `body`; default application/json. */
  contentType?: string;
  /** Wait this long before answering (alone, or before the status or the drop). */
  delayMs?: number;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Probability in [0, 1] that a matching request is hit; default 1. */
  rate?: number;
  /** Stop after hitting this many requests; default unlimited. */
  times?: number;
}

export interface ActiveFault extends FaultRule {
  id: string;
  hits: number;
}

/** Small seeded generator (mulberry32): the same seed gives the same fault pattern. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private rules: ActiveFault[] = [];
  private random: () => number;
  /** Requests looked at (every request to either listener outside /__local/), hit or not. */
  checked = 0;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  add(rule: FaultRule): ActiveFault {
    // Fail early on a bad pattern.
    new RegExp(rule.path);
    if (rule.query !== undefined) new RegExp(rule.query);
    const fault = { ...rule, id: randomUUID(), hits: 0 };
    this.rules.push(fault);
    return fault;
  }

  list(): ActiveFault[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  clear(seed?: number): void {
    this.rules = [];
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** The fault to apply to this request, if any; counts it as a hit. */
  match(method: string, path: string, query = ''): ActiveFault | undefined {
    this.checked += 1;
    for (const rule of this.rules) {
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!new RegExp(rule.path).test(path)) continue;
      if (rule.query !== undefined && !new RegExp(rule.query).test(query)) continue;
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      if (this.random() >= (rule.rate ?? 1)) continue;
      rule.hits += 1;
      return rule;
    }
    return undefined;
  }
}
