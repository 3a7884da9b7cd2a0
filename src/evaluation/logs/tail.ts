/** The last lines of a log file, read from its end only (the log may be gigabytes). */
import { open } from 'node:fs/promises';
import { parseLogFileLine } from './follower.js';

/** Colour and cursor codes (cwltool colours its log lines); meaningless in a message. */
// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\u001b\[[0-9;]*[A-Za-z]/g;

export async function readLogTail(
  path: string,
  maxLines = 20,
  maxChars = 2_000,
): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxChars * 4);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // the first line was cut by the window
    const tail = lines
      .filter((line) => line.length > 0)
      .map((line) => (parseLogFileLine(line)?.text ?? line).replace(TERMINAL_CODES, ''))
      .slice(-maxLines)
      .join('\n');
    return tail.length > maxChars ? tail.slice(tail.length - maxChars) : tail;
  } finally {
    await handle.close();
  }
}
