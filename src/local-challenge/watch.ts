/**
 * Follows submissions until each has finished, reading their statuses as the organizer's account and
 * drawing the board after every read. `onPoll` lets a caller act on what it sees (the demo cancels one
 * submission once it runs).
 */
import type { StageStatuses } from '../evaluation/stages.js';
import type { SynapseClient } from '../synapse/client.js';
import type { BoardRow, ProgressBoard } from './progress-board.js';
import { viewOf } from './submission-view.js';

export interface WatchOptions {
  client: SynapseClient;
  rows: BoardRow[];
  stage: StageStatuses;
  board?: ProgressBoard;
  intervalMs?: number;
  /** Give up after this long (the rows keep what was last seen). */
  timeoutMs?: number;
  onPoll?: (rows: BoardRow[]) => Promise<void>;
  /** Stops the watch early (Ctrl-C). */
  signal?: AbortSignal;
}

export type WatchEnd = 'finished' | 'timed out' | 'interrupted';

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function watchUntilFinished(options: WatchOptions): Promise<WatchEnd> {
  const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  for (;;) {
    for (const row of options.rows) {
      if (row.view?.phase === 'finished') continue;
      try {
        row.view = viewOf(await options.client.evaluations.getStatus(row.id), options.stage);
        if (row.view.phase === 'finished') row.finishedAt = Date.now();
      } catch {
        // A failed read is tried again at the next poll; the board keeps what it last saw.
      }
    }
    await options.onPoll?.(options.rows);
    options.board?.render(options.rows);
    if (options.rows.every((row) => row.view?.phase === 'finished')) return 'finished';
    if (options.signal?.aborted === true) return 'interrupted';
    if (Date.now() > deadline) return 'timed out';
    await sleep(options.intervalMs ?? 1000, options.signal);
  }
}
