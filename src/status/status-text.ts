/**
 * The status report as `synapse-orchestrator status` prints it: a few summary lines and two tables
 * (running evaluations, queues), for a terminal. Participant-chosen strings (team names) are made safe
 * for a terminal first: control characters (escape sequences could rewrite the screen) and bidirectional
 * overrides become "?", and long values are cut.
 */
import type { RunningRow, StatusReport } from './report.js';

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A string's characters (code points: close enough for ids and names in a fixed-width column). */
const charsOf = (text: string): string[] => Array.from(text);

/** `text` without anything a terminal would act on, at most `max` characters. */
export function terminalSafe(text: string, max = 40): string {
  const clean = text.replace(UNSAFE, '?');
  const chars = charsOf(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

function since(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return '';
  return `${formatDuration((now - Date.parse(iso)) / 1000)} ago`;
}

/** Columns padded to their widest cell (by characters, which is close enough for ids and names). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, index) =>
    Math.max(charsOf(header).length, ...rows.map((row) => charsOf(row[index] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell + ' '.repeat(Math.max(0, (widths[index] ?? 0) - charsOf(cell).length)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function runningRow(row: RunningRow, now: number): string[] {
  return [
    terminalSafe(row.submissionId, 20),
    terminalSafe(row.evaluationId, 20),
    terminalSafe(row.submitter, 30),
    row.state,
    row.startedAt === undefined ? '' : row.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    formatDuration(row.elapsedSeconds),
    row.progress === undefined ? '' : `${Math.round(row.progress)}%`,
    terminalSafe(row.container ?? '', 50),
    row.lastLogUploadAt === undefined ? 'not yet' : since(row.lastLogUploadAt, now),
  ];
}

export function formatStatusText(report: StatusReport, url: string): string {
  const now = Date.parse(report.generatedAt);
  const state = report.stopping
    ? 'stopping'
    : !report.health.healthy
      ? `UNHEALTHY (${report.health.reason ?? report.health.state})`
      : report.draining !== null
        ? `draining (${report.draining})`
        : 'running';
  const waiting = report.queues.reduce((sum, q) => sum + (q.waiting ?? 0), 0);
  const lines = [
    `Orchestrator ${terminalSafe(report.orchestratorId, 80)} (version ${report.version}) at ${url}: ${state}`,
    `${report.running.length} of ${report.maxConcurrent} running here; ${waiting} waiting in ${report.queues.length} queue(s); ` +
      `${report.messages.ready + report.messages.held} message(s) to send` +
      `${report.messages.failed > 0 ? ` (${report.messages.failed} given up on)` : ''}; ` +
      `last tick ${report.lastTickAt === null ? 'not yet' : since(report.lastTickAt, now)}`,
    '',
  ];
  if (report.running.length === 0) {
    lines.push('Nothing runs on this instance.');
  } else {
    lines.push(
      table(
        [
          'SUBMISSION',
          'QUEUE',
          'SUBMITTER',
          'STATE',
          'STARTED',
          'ELAPSED',
          'PROGRESS',
          'CONTAINER',
          'LAST LOG UPLOAD',
        ],
        report.running.map((row) => runningRow(row, now)),
      ),
    );
  }
  lines.push('');
  lines.push(
    table(
      ['QUEUE', 'RUNNING HERE', 'WAITING', 'SEEN'],
      report.queues.map((q) => [
        terminalSafe(q.evaluationId, 20),
        String(q.running),
        q.waiting === null ? '-' : String(q.waiting),
        q.waitingSeenAt === null
          ? 'not listed yet'
          : `${since(q.waitingSeenAt, now)}${q.listingError === undefined ? '' : ` (last listing failed: ${terminalSafe(q.listingError, 80)})`}`,
      ]),
    ),
  );
  if (report.running.length > 0 && !report.stopping) {
    lines.push(
      '',
      `Stopping now (docker compose down) leaves ${report.running.length} workflow(s) running; the next start picks them up. ` +
        'To let them finish first: synapse-orchestrator drain --wait',
    );
  }
  return `${lines.join('\n')}\n`;
}
