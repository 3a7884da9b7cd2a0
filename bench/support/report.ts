/** The suite's table: one row per figure, with the engine's own figure and the target beside it. */

export interface Row {
  figure: string;
  orchestrator: string;
  engine: string;
  target: string;
  met: 'yes' | 'no' | '';
}

export const verdict = (ok: boolean): Row['met'] => (ok ? 'yes' : 'no');

const HEADERS = ['Figure', 'Orchestrator', "Engine's own", 'Target', 'Met'] as const;
const cells = (row: Row): string[] => [row.figure, row.orchestrator, row.engine, row.target, row.met];

/** Plain text for the terminal. */
export function textTable(rows: Row[]): string {
  const all = [[...HEADERS], ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(all[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join(
    '\n',
  );
}

/** GitHub markdown. */
export function markdownTable(rows: Row[]): string {
  const escape = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${cells(row).map(escape).join(' | ')} |`),
  ].join('\n');
}

export const fixed = (n: number, digits = 1): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
export const mibText = (bytes: number): string => `${fixed(bytes / (1024 * 1024))} MiB`;
export const secondsText = (ms: number): string => `${fixed(ms / 1000, ms < 10_000 ? 2 : 1)} s`;
