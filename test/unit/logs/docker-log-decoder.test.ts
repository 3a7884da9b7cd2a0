/** The decoding of Docker's log answer (8-byte frame headers, timestamps) into lines, whatever the chunks. */
import { describe, expect, it } from 'vitest';
import {
  DockerLogDecoder,
  MAX_LOG_LINE_BYTES,
  timestampAfter,
  unixTimestampOf,
} from '../../../src/engine/docker/log-decoder.js';
import type { LogLine } from '../../../src/engine/interfaces.js';

const T1 = '2026-11-21T19:52:22.697409123Z';
const T2 = '2026-11-21T19:52:22.697409124Z';
const T3 = '2026-11-21T19:52:23.000000001Z';

/** One frame as Docker sends it: stream type, three zero bytes, payload length (big-endian), payload. */
function frame(stream: 'stdout' | 'stderr', payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function decode(chunks: Buffer[], multiplexed = true): LogLine[] {
  const decoder = new DockerLogDecoder(multiplexed);
  const lines = chunks.flatMap((chunk) => decoder.push(chunk));
  return [...lines, ...decoder.end()];
}

/** Every way of cutting `bytes` in two, and in three at nearby points. */
function splits(bytes: Buffer): Buffer[][] {
  const result: Buffer[][] = [];
  for (let a = 0; a <= bytes.length; a++) {
    result.push([bytes.subarray(0, a), bytes.subarray(a)]);
    const b = Math.min(bytes.length, a + 3);
    result.push([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
  }
  return result;
}

const sample = Buffer.concat([
  frame('stdout', `${T1} first line\n`),
  frame('stderr', `${T2} an error: ünïcödé €\n`),
  frame('stdout', `${T2} \n`),
  // A long line as Docker sends it: several messages, each with its own timestamp.
  frame('stdout', `${T3} long line part one, `),
  frame('stderr', `${T3} interleaved error\n`),
  frame('stdout', `${T3} part two, `),
  frame('stdout', `${T3} part three\n`),
  frame('stdout', `${T3} no newline at the end`),
]);

const expected: LogLine[] = [
  { stream: 'stdout', timestamp: T1, text: 'first line' },
  { stream: 'stderr', timestamp: T2, text: 'an error: ünïcödé €' },
  { stream: 'stdout', timestamp: T2, text: '' },
  { stream: 'stderr', timestamp: T3, text: 'interleaved error' },
  { stream: 'stdout', timestamp: T3, text: 'long line part one, part two, part three' },
  { stream: 'stdout', timestamp: T3, text: 'no newline at the end' },
];

describe('DockerLogDecoder', () => {
  it('reads frames into lines with their stream and timestamp', () => {
    expect(decode([sample])).toEqual(expected);
  });

  it('gives the same lines however the bytes are cut into chunks', () => {
    for (const chunks of splits(sample)) expect(decode(chunks)).toEqual(expected);
  });

  it('works byte by byte (headers, timestamps and characters all split)', () => {
    const bytes = [...sample].map((byte) => Buffer.from([byte]));
    expect(decode(bytes)).toEqual(expected);
  });

  it('ends an open line when the next frame of its stream has another timestamp', () => {
    // Docker 20.10 can send a file's lines again after an unterminated last line.
    const bytes = Buffer.concat([
      frame('stdout', `${T1} unterminated`),
      frame('stdout', `${T2} next line\n`),
      frame('stdout', `${T3} `),
      frame('stdout', `${T3} continued\n`),
    ]);
    for (const chunks of splits(bytes)) {
      expect(decode(chunks)).toEqual([
        { stream: 'stdout', timestamp: T1, text: 'unterminated' },
        { stream: 'stdout', timestamp: T2, text: 'next line' },
        { stream: 'stdout', timestamp: T3, text: 'continued' },
      ]);
    }
  });

  it('joins a frame without a timestamp to the open line as it is', () => {
    expect(decode([frame('stdout', `${T1} a`), frame('stdout', 'b c\n')])).toEqual([
      { stream: 'stdout', timestamp: T1, text: 'ab c' },
    ]);
  });

  it('emits a line as soon as its newline arrives, not at the end', () => {
    const decoder = new DockerLogDecoder();
    const bytes = frame('stdout', `${T1} one\n${T1} two\n`);
    expect(decoder.push(bytes.subarray(0, 8 + T1.length + 5))).toEqual([
      { stream: 'stdout', timestamp: T1, text: 'one' },
    ]);
    expect(decoder.push(bytes.subarray(8 + T1.length + 5))).toEqual([
      { stream: 'stdout', timestamp: T1, text: 'two' },
    ]);
    expect(decoder.end()).toEqual([]);
  });

  it('keeps CR and other bytes in the text, and text that looks like a timestamp', () => {
    const lines = decode([
      frame('stdout', `${T1} windows line\r\n`),
      frame('stdout', `${T1} ${T2} is a time\n`),
      frame('stdout', `${T1} tab\there\n`),
    ]);
    expect(lines.map((line) => line.text)).toEqual(['windows line\r', `${T2} is a time`, 'tab\there']);
  });

  it('puts lines left open at the end in the order they began', () => {
    const lines = decode([frame('stderr', `${T1} err open`), frame('stdout', `${T2} out open`)]);
    expect(lines).toEqual([
      { stream: 'stderr', timestamp: T1, text: 'err open' },
      { stream: 'stdout', timestamp: T2, text: 'out open' },
    ]);
  });

  it('takes a line without a timestamp whole, with the stream’s latest timestamp', () => {
    const lines = decode([frame('stdout', `${T1} a\n`), frame('stdout', 'no timestamp here\n')]);
    expect(lines[1]).toEqual({ stream: 'stdout', timestamp: T1, text: 'no timestamp here' });
  });

  it('reads the raw stream of a TTY container', () => {
    const raw = Buffer.from(`${T1} one\n${T2} two\n${T3} three`);
    for (const chunks of splits(raw)) {
      expect(decode(chunks, false)).toEqual([
        { stream: 'stdout', timestamp: T1, text: 'one' },
        { stream: 'stdout', timestamp: T2, text: 'two' },
        { stream: 'stdout', timestamp: T3, text: 'three' },
      ]);
    }
  });

  it('cuts a runaway line into pieces of at most MAX_LOG_LINE_BYTES, not inside a character', () => {
    const decoder = new DockerLogDecoder();
    // 'é' is two bytes; a 16 KiB message at a time, as Docker sends them.
    const piece = 'é'.repeat(8 * 1024);
    const lines: LogLine[] = [];
    const messages = Math.ceil((2.5 * MAX_LOG_LINE_BYTES) / Buffer.byteLength(piece));
    for (let i = 0; i < messages; i++) lines.push(...decoder.push(frame('stdout', `${T1} ${piece}`)));
    lines.push(...decoder.push(frame('stdout', `${T1} end\n`)));
    expect(decoder.end()).toEqual([]);
    expect(lines.length).toBe(3);
    for (const line of lines) {
      expect(Buffer.byteLength(line.text)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
      expect(line.timestamp).toBe(T1);
      expect(line.text).not.toContain('\uFFFD');
      expect(line.text).not.toContain(T1);
    }
    expect(lines.map((line) => line.text).join('')).toBe(`${piece.repeat(messages)}end`);
  });

  it('handles empty frames and stdin or daemon-error frames', () => {
    const header = (type: number, length: number) => {
      const bytes = Buffer.alloc(8);
      bytes[0] = type;
      bytes.writeUInt32BE(length, 4);
      return bytes;
    };
    const daemonError = Buffer.from(`${T1} something failed\n`);
    const lines = decode([
      header(1, 0),
      header(3, daemonError.length),
      daemonError,
      header(0, 0),
      frame('stdout', `${T1} after\n`),
    ]);
    expect(lines).toEqual([
      { stream: 'stderr', timestamp: T1, text: 'something failed' },
      { stream: 'stdout', timestamp: T1, text: 'after' },
    ]);
  });
});

describe('Docker timestamps', () => {
  it('converts to the unix seconds.nanoseconds form of `since`', () => {
    expect(unixTimestampOf('2024-11-21T14:40:00.123456789Z')).toBe('1732200000.123456789');
    expect(unixTimestampOf('2024-11-21T14:40:00Z')).toBe('1732200000.000000000');
    expect(unixTimestampOf('2024-11-21T14:40:00.5Z')).toBe('1732200000.500000000');
    expect(unixTimestampOf('2024-11-21T15:40:00.000000007+01:00')).toBe('1732200000.000000007');
    expect(unixTimestampOf('yesterday')).toBeUndefined();
  });

  it('compares to the nanosecond, in any zone, and keeps unreadable ones', () => {
    expect(timestampAfter(T2, T1)).toBe(true);
    expect(timestampAfter(T1, T1)).toBe(false);
    expect(timestampAfter(T1, T2)).toBe(false);
    expect(timestampAfter('2026-11-21T20:52:22.697409124+01:00', T1)).toBe(true);
    expect(timestampAfter('2026-11-21T20:52:22.697409123+01:00', T1)).toBe(false);
    expect(timestampAfter('2026-11-21T19:52:22.6974Z', T1)).toBe(false);
    expect(timestampAfter('', T1)).toBe(true);
  });
});
