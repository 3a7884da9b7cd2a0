/**
 * Lets stdout and stderr drain before the process exits. On Linux, writes to a pipe are asynchronous:
 * `process.exit()` with output still queued cuts it at whatever the pipe had taken (64 KiB), so
 * `local-admin dump | cat` or `try --json | jq` would read a truncated document.
 *
 * Waits as long as the reader takes (as any program writing to a pipe does), and stops waiting when the
 * stream fails or closes (the reader went away: EPIPE), since nothing more can be delivered then. A
 * daemon (`run`) bounds the wait instead: a stalled log reader must not keep it from stopping.
 */
import type { Writable } from 'node:stream';

const POLL_MS = 5;

let limitMs: number | undefined;

/** From now on, drainOutput gives up after this long (for commands that must stop when told to); undefined: never. */
export function boundOutputDrain(ms: number | undefined): void {
  limitMs = ms;
}

export async function drainOutput(streams: Writable[] = [process.stdout, process.stderr]): Promise<void> {
  const drained = Promise.all(streams.map(drainOne));
  if (limitMs === undefined) {
    await drained;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs).unref();
  });
  await Promise.race([drained, limit]);
  clearTimeout(timer);
}

function drainOne(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    const check = (): void => {
      if (stream.writableLength === 0 || stream.destroyed || stream.writableEnded) done();
      else timer = setTimeout(check, POLL_MS);
    };
    stream.once('error', done);
    stream.once('close', done);
    check();
  });
}
