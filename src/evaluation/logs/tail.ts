/** The last lines of a log file, read from its end only (the log may be gigabytes). */
import { open } from 'node:fs/promises';
import { redactText } from '../../logging/redact.js';
import { parseLogFileLine } from '../../engine/log-format.js';

/** Colour and cursor codes (cwltool colours its log lines); meaningless in a message. */
// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\u001b\[[0-9;?]*[A-Za-z]/g;

export const stripTerminalCodes = (text: string): string => text.replace(TERMINAL_CODES, '');

/**
 * The text of the log's lines within its last `maxBytes` (stream and timestamp prefixes and colour codes
 * removed, a line cut by the window left out); undefined when there is no log.
 */
export async function readLastLines(path: string, maxBytes: number): Promise<string[] | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // the first line was cut by the window
    if (lines.at(-1) === '') lines.pop();
    return lines.map((line) => stripTerminalCodes(parseLogFileLine(line)?.text ?? line));
  } finally {
    await handle.close();
  }
}

/** The last lines as a failure message quotes them: at most maxLines and maxChars, secrets redacted. */
export async function readLogTail(
  path: string,
  maxLines = 20,
  maxChars = 2_000,
): Promise<string | undefined> {
  const lines = await readLastLines(path, maxChars * 4);
  if (lines === undefined) return undefined;
  const tail = redactText(
    lines
      .filter((line) => line.length > 0)
      .slice(-maxLines)
      .join('\n'),
  );
  return tail.length > maxChars ? tail.slice(tail.length - maxChars) : tail;
}
