/**
 * The results of `validate`'s checks, and how they are shown: one line per check for a terminal, or one
 * JSON object. The exit status follows from them.
 */

export type CheckStatus = 'ok' | 'problem' | 'warning' | 'not checked';

export interface CheckResult {
  /** What was checked: "Synapse account", "Queue 9614045", "Template syn123"… */
  name: string;
  status: CheckStatus;
  /** What was found (for 'not checked': why not). */
  detail: string;
  /** For a problem or a warning: one sentence on what to change, naming the variable, queue or entity. */
  fix?: string;
}

export interface PreflightJson {
  ok: boolean;
  offline: false;
  checks: CheckResult[];
}

const SYMBOLS: Record<CheckStatus, string> = {
  ok: '✔',
  problem: '✖',
  warning: '!',
  'not checked': '○',
};

export function ok(name: string, detail: string): CheckResult {
  return { name, status: 'ok', detail };
}

export function problem(name: string, detail: string, fix: string): CheckResult {
  return { name, status: 'problem', detail, fix };
}

export function warning(name: string, detail: string, fix?: string): CheckResult {
  return fix === undefined ? { name, status: 'warning', detail } : { name, status: 'warning', detail, fix };
}

export function notChecked(name: string, why: string): CheckResult {
  return { name, status: 'not checked', detail: why };
}

/** True when nothing failed and nothing was left unchecked (warnings are fine). */
export function allPassed(checks: readonly CheckResult[]): boolean {
  return checks.every((check) => check.status === 'ok' || check.status === 'warning');
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** One line per check, the fix under each problem or warning, then a verdict. */
export function formatText(checks: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${SYMBOLS[check.status]} ${check.name}: ${check.detail}`);
    if (check.fix !== undefined && (check.status === 'problem' || check.status === 'warning')) {
      lines.push(`    → ${check.fix}`);
    }
  }
  const problems = checks.filter((check) => check.status === 'problem').length;
  const skipped = checks.filter((check) => check.status === 'not checked').length;
  const warnings = checks.filter((check) => check.status === 'warning').length;
  lines.push('');
  if (problems > 0) {
    lines.push(
      `${plural(problems, 'problem', 'problems')}: fix ${problems === 1 ? 'it' : 'them'} and run validate again.` +
        (skipped > 0 ? ` (${plural(skipped, 'check', 'checks')} could not run until then.)` : ''),
    );
  } else if (skipped > 0) {
    lines.push(`${plural(skipped, 'check', 'checks')} could not run: see above, then run validate again.`);
  } else {
    lines.push(
      `All ${checks.length} checks passed.` +
        (warnings > 0 ? ` (${plural(warnings, 'warning', 'warnings')} above.)` : ''),
    );
  }
  return lines.join('\n');
}

export function toJson(checks: readonly CheckResult[]): PreflightJson {
  return { ok: allPassed(checks), offline: false, checks: [...checks] };
}
