/**
 * The live view of a few submissions in a terminal: one line each (submission, queue, submitter, state,
 * elapsed time, progress), redrawn in place on a terminal; on anything else (a CI log, a pipe) a line is
 * printed only when a submission's state or progress step changes.
 */
import type { SubmissionView } from './submission-view.js';

export interface BoardRow {
  id: string;
  queue: string;
  submitter: string;
  /** When it was submitted (ms since the epoch). */
  submittedAt: number;
  view: SubmissionView | undefined;
  /** When it was first seen finished. */
  finishedAt?: number;
  /** A note of ours, e.g. "cancel requested by bob". */
  note?: string;
}

export interface BoardOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

function progressBar(progress: number | undefined): string {
  if (progress === undefined) return '';
  const filled = Math.round(progress / 10);
  return `[${'#'.repeat(filled)}${'.'.repeat(10 - filled)}] ${Math.round(progress)}%`;
}

/** The state column: what a participant would call it. */
export function stateText(row: BoardRow): string {
  const view = row.view;
  if (view === undefined) return 'submitted';
  switch (view.phase) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return 'running';
    case 'cancelling':
      return 'cancelling';
    case 'finished':
      return view.statusDescription === undefined
        ? view.status
        : `${view.status} (${view.statusDescription})`;
  }
}

export class ProgressBoard {
  private drawnLines = 0;
  private readonly lastPrinted = new Map<string, string>();

  constructor(
    private readonly out: BoardOutput,
    private readonly title: string,
  ) {}

  private line(row: BoardRow, now: number): string {
    const elapsed = formatElapsed((row.finishedAt ?? now) - row.submittedAt);
    const progress = row.view?.phase === 'running' ? progressBar(row.view.progress) : '';
    const note = row.note === undefined ? '' : `  ${row.note}`;
    return (
      `  ${row.id.padEnd(9)} ${row.queue.padEnd(18)} ${row.submitter.padEnd(18)} ` +
      `${stateText(row).padEnd(34)} ${elapsed.padStart(6)}  ${progress}${note}`
    ).trimEnd();
  }

  private header(): string {
    return `  ${'Submission'.padEnd(9)} ${'Queue'.padEnd(18)} ${'Submitter'.padEnd(18)} ${'State'.padEnd(34)} ${'Elapsed'.padStart(6)}  Progress`;
  }

  render(rows: readonly BoardRow[], now = Date.now()): void {
    if (this.out.isTTY === true) {
      const width = this.out.columns ?? 120;
      const lines = [this.title, this.header(), ...rows.map((row) => this.line(row, now))].map((text) =>
        text.length > width ? `${text.slice(0, width - 1)}…` : text,
      );
      const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
      this.out.write(`${up}${lines.map((text) => `\x1b[2K${text}\n`).join('')}`);
      this.drawnLines = lines.length;
      return;
    }
    if (this.lastPrinted.size === 0) this.out.write(`${this.title}\n${this.header()}\n`);
    for (const row of rows) {
      // On a log, a change of state or of a 10% progress step is news; elapsed time alone is not.
      const step = row.view?.progress === undefined ? '' : String(Math.floor(row.view.progress / 10));
      const key = `${stateText(row)}|${step}|${row.note ?? ''}`;
      if (this.lastPrinted.get(row.id) === key) continue;
      this.lastPrinted.set(row.id, key);
      this.out.write(`${this.line(row, now)}\n`);
    }
  }
}
