/**
 * The platform's faults during a chaos run: a share of every request (Synapse API and object store)
 * answered with 429, 503, a dropped connection, or added latency (300 ms, 900 ms or 2 s), in four equal
 * parts. The injector tries its rules in order, each at its own rate, so each rule's rate is its share of
 * what the rules before it let through.
 */
import type { FaultRule } from '../../src/local-platform/faults.js';
import type { LocalPlatform } from '../../src/local-platform/server.js';

export type FaultKind = '429' | '503' | 'drop' | 'latency';

interface PlannedFault {
  kind: FaultKind;
  share: number;
  rule: Omit<FaultRule, 'rate'>;
}

function plan(total: number): PlannedFault[] {
  const quarter = total / 4;
  return [
    { kind: '429', share: quarter, rule: { path: '.*', status: 429, reason: 'Injected: slow down' } },
    { kind: '503', share: quarter, rule: { path: '.*', status: 503, reason: 'Injected: unavailable' } },
    { kind: 'drop', share: quarter, rule: { path: '.*', drop: true } },
    { kind: 'latency', share: quarter / 3, rule: { path: '.*', delayMs: 300 } },
    { kind: 'latency', share: quarter / 3, rule: { path: '.*', delayMs: 900 } },
    { kind: 'latency', share: quarter / 3, rule: { path: '.*', delayMs: 2_000 } },
  ];
}

export interface FaultFigures {
  requests: number;
  injected: number;
  byKind: Record<FaultKind, number>;
}

export class FaultPlan {
  private readonly ids = new Map<string, FaultKind>();
  private readonly hits = new Map<string, number>();
  private requestsBefore = 0;
  private requestsDuring = 0;
  private active = false;

  constructor(
    private readonly platform: LocalPlatform,
    private readonly rate: number,
  ) {}

  /** Turns the faults on (in process: the platform runs in the harness). */
  start(): void {
    this.requestsBefore = this.platform.faults.checked;
    let passed = 1;
    for (const fault of plan(this.rate)) {
      const added = this.platform.faults.add({ ...fault.rule, rate: fault.share / passed });
      passed -= fault.share;
      this.ids.set(added.id, fault.kind);
    }
    this.active = true;
  }

  /** Turns them off, keeping the counts. */
  stop(): void {
    if (!this.active) return;
    for (const fault of this.platform.faults.list()) this.hits.set(fault.id, fault.hits);
    this.requestsDuring = this.platform.faults.checked - this.requestsBefore;
    this.platform.faults.clear();
    this.active = false;
  }

  figures(): FaultFigures {
    const live = new Map(this.platform.faults.list().map((f) => [f.id, f.hits]));
    const byKind: Record<FaultKind, number> = { '429': 0, '503': 0, drop: 0, latency: 0 };
    let injected = 0;
    for (const [id, kind] of this.ids) {
      const hits = live.get(id) ?? this.hits.get(id) ?? 0;
      byKind[kind] += hits;
      injected += hits;
    }
    const requests = this.active ? this.platform.faults.checked - this.requestsBefore : this.requestsDuring;
    return { requests, injected, byKind };
  }
}
