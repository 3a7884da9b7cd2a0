/**
 * The run's figures as a table on stdout, and everything (figures, checks, findings with the instances'
 * log lines, per-submission facts) as JSON in `<output dir>/chaos-<seed>.json`.
 */
import { writeFileSync } from 'node:fs';
import type { SubmissionFacts } from './analysis.js';
import type { CheckResult } from './checks.js';
import type { InstanceLogs, LogLine } from './evidence.js';

export interface Headline {
  profile: string;
  seed: number;
  seconds: number;
  submissions: number;
  'faults injected': number;
  kills: number;
  'engine restarts': number;
  duplicates: number;
  lost: number;
  stuck: number;
  leftovers: number;
  'exit→final p50 ms': number | string;
  'exit→final p95 ms': number | string;
  'exit→final worst ms': number | string;
  'exit→final samples': number;
  'cancel→container stopped p50 ms': number | string;
  'cancel→container stopped worst ms': number | string;
}

const LOST_REASON = /disappeared|could not be started/;

/** Submissions whose run was lost: never got a container, or ended as lost or unstartable. */
export function lostOf(facts: readonly SubmissionFacts[]): SubmissionFacts[] {
  return facts.filter(
    (f) =>
      f.right.runs &&
      f.finalAt !== undefined &&
      (f.status !== f.right.status || f.description !== f.right.statusDescription) &&
      (f.runs.length === 0 || LOST_REASON.test(f.failureReason ?? '')),
  );
}

/** Container exit (Docker's `die`) to the first final status write, per submission that had both. */
export function exitToFinal(facts: readonly SubmissionFacts[]): number[] {
  const samples: number[] = [];
  for (const f of facts) {
    const finalAt = f.finalAt;
    if (finalAt === undefined) continue;
    const exits = f.exits.filter((e) => e.at <= finalAt + 1_000).map((e) => e.at);
    if (exits.length === 0) continue;
    samples.push(Math.max(0, finalAt - Math.max(...exits)));
  }
  return samples.sort((a, b) => a - b);
}

/** From the participant's cancel request to the container's exit, per cancelled running workload. */
export function cancelToStop(facts: readonly SubmissionFacts[]): number[] {
  const samples: number[] = [];
  for (const f of facts) {
    const asked = f.record.cancelRequestedAt;
    if (f.record.plan !== 'cancel' || asked === undefined) continue;
    const exit = f.exits.find((e) => e.at >= asked);
    if (exit !== undefined) samples.push(exit.at - asked);
  }
  return samples.sort((a, b) => a - b);
}

export function percentile(sorted: readonly number[], p: number): number | string {
  if (sorted.length === 0) return '-';
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? '-';
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join('\n');
}

export function printReport(headline: Headline, checks: readonly CheckResult[], logs: InstanceLogs): void {
  const lines: string[] = [];
  lines.push('', `chaos run (${headline.profile}, seed ${headline.seed})`, '');
  lines.push(table(Object.entries(headline).map(([k, v]) => [k, String(v)])));
  for (const result of checks) {
    lines.push('', `${result.passed ? 'PASS' : 'FAIL'}  ${result.name}`);
    lines.push(table(Object.entries(result.figures).map(([k, v]) => [k, String(v)])));
    const shown = result.findings.slice(0, 4);
    for (const finding of shown) {
      lines.push(
        `    - ${finding.submissionId === undefined ? '' : `${finding.submissionId}: `}${finding.what}`,
      );
      if (finding.submissionId !== undefined) {
        for (const line of logs.about(finding.submissionId, 8))
          lines.push(`        ${line.where} ${line.text}`);
      }
    }
    if (result.findings.length > shown.length) {
      lines.push(`    … and ${result.findings.length - shown.length} more (see the JSON report)`);
    }
  }
  const failed = checks.filter((c) => !c.passed).length;
  lines.push(
    '',
    failed === 0 ? 'chaos: every check holds' : `chaos: ${failed} of ${checks.length} checks failed`,
    '',
  );
  console.log(lines.join('\n'));
}

export function writeReport(
  path: string,
  headline: Headline,
  checks: readonly CheckResult[],
  facts: readonly SubmissionFacts[],
  logs: InstanceLogs,
  extra: Record<string, unknown>,
): void {
  const evidence: Record<string, LogLine[]> = {};
  for (const result of checks) {
    for (const finding of result.findings) {
      if (finding.submissionId !== undefined && evidence[finding.submissionId] === undefined) {
        evidence[finding.submissionId] = logs.about(finding.submissionId, 30);
      }
    }
  }
  const report = {
    headline,
    passed: checks.every((c) => c.passed),
    checks,
    evidence,
    instanceProblems: logs.problems(),
    ...extra,
    submissions: facts.map((f) => ({
      ...f.record,
      status: f.status,
      description: f.description,
      failureReason: f.failureReason,
      steps: f.steps,
      containers: f.creations,
      containersThatRan: f.runs,
      exits: f.exits,
      messages: f.messages.map((m) => ({ kind: m.kind, at: m.at, recipients: m.recipients })),
      logVersions: f.logVersions,
      latestLog: f.latestLog,
      logAtFinal: f.logAtFinal,
    })),
  };
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
