/** The decoding of Docker's log answer (8-byte frame headers, timestamps) into lines, whatever the chunks. */
import { describe, expect, it } from 'vitest';
import {
  DockerLogBlockDecoder,
  DockerLogDecoder,
  MAX_LOG_LINE_BYTES,
  timestampAfter,
  unixTimestampOf,
  type DockerLogDecoderOptions,
} from '../../../src/engine/docker/log-decoder.js';
import type { LogLine } from '../../../src/engine/interfaces.js';
import { formatLogLine } from '../../../src/engine/log-format.js';

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
  const decoder = new DockerLogDecoder({ multiplexed });
  const lines = chunks.flatMap((chunk) => decoder.push(chunk));
  return [...lines, ...decoder.end()];
}

/**
 * The same chunks through both decoders, chunk by chunk: the blocks must hold exactly the bytes of the
 * lines as formatLogLine() writes them, and the same count and last timestamp. Returns the log file's
 * bytes and what was dropped as repeated.
 */
function bothWays(
  chunks: Buffer[],
  options: DockerLogDecoderOptions = {},
): { bytes: Buffer; repeated: number } {
  const lines = new DockerLogDecoder(options);
  const blocks = new DockerLogBlockDecoder(options);
  const counted = new DockerLogBlockDecoder({ ...options, countOnly: true });
  const all: Buffer[] = [];
  const check = (decoded: LogLine[], block: ReturnType<DockerLogBlockDecoder['push']>, count: number) => {
    const expected = Buffer.from(decoded.map(formatLogLine).join(''));
    const bytes = block?.bytes ?? Buffer.alloc(0);
    // Buffer.equals: toEqual compares a megabyte byte by byte, slowly.
    if (!bytes.equals(expected)) expect(bytes.toString('latin1')).toBe(expected.toString('latin1'));
    expect(block?.lines ?? 0).toBe(decoded.length);
    expect(count).toBe(decoded.length);
    const last = decoded.filter((line) => line.timestamp !== '').at(-1)?.timestamp ?? '';
    expect(block?.lastTimestamp ?? '').toBe(last);
    all.push(expected);
  };
  for (const chunk of chunks) {
    check(lines.push(chunk), blocks.push(chunk), counted.push(chunk)?.lines ?? 0);
  }
  check(lines.end(), blocks.end(), counted.end()?.lines ?? 0);
  expect(blocks.repeated).toBe(lines.repeated);
  expect(counted.repeated).toBe(lines.repeated);
  return { bytes: Buffer.concat(all), repeated: lines.repeated };
}

/** A small seeded random generator (mulberry32), so that a failure can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` cut at random points into chunks of 1 to `max` bytes. */
function randomChunks(bytes: Buffer, next: () => number, max: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(next() * max);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
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

describe('DockerLogBlockDecoder', () => {
  it('writes the log file lines of the sample, however the bytes are cut into chunks', () => {
    const whole = bothWays([sample]).bytes.toString('utf8');
    expect(whole).toBe(expected.map(formatLogLine).join(''));
    for (const chunks of splits(sample)) expect(bothWays(chunks).bytes.toString('utf8')).toBe(whole);
    expect(bothWays([...sample].map((byte) => Buffer.from([byte]))).bytes.toString('utf8')).toBe(whole);
  });

  it('keeps a character split across chunks and across the frames of one line whole', () => {
    // '€' is three bytes: cut between its bytes by the frames (Docker's 16 KiB messages split anywhere).
    const euro = Buffer.from('€');
    const bytes = Buffer.concat([
      frame('stdout', Buffer.concat([Buffer.from(`${T1} price: `), euro.subarray(0, 1)])),
      frame('stdout', Buffer.concat([Buffer.from(`${T1} `), euro.subarray(1, 2)])),
      frame('stdout', Buffer.concat([Buffer.from(`${T1} `), euro.subarray(2), Buffer.from(' 5\n')])),
    ]);
    for (const chunks of splits(bytes)) {
      expect(bothWays(chunks).bytes.toString('utf8')).toBe(`STDOUT ${T1} price: € 5\n`);
    }
  });

  it('writes lines without a timestamp, continued and TTY output as formatLogLine does', () => {
    const bytes = Buffer.concat([
      frame('stdout', 'no timestamp yet\n'),
      frame('stdout', `${T1} a\n`),
      frame('stderr', 'stderr has none\n'),
      frame('stdout', 'none, so the latest\n'),
      frame('stdout', `2026-11-21T20:52:23.5+01:00 another zone\n`),
      frame('stdout', `${T2}\n`),
      frame('stdout', `${T3} \r\n`),
    ]);
    const { bytes: file } = bothWays([bytes]);
    expect(file.toString('utf8')).toBe(
      [
        'STDOUT - no timestamp yet',
        `STDOUT ${T1} a`,
        'STDERR - stderr has none',
        `STDOUT ${T1} none, so the latest`,
        'STDOUT 2026-11-21T20:52:23.5+01:00 another zone',
        `STDOUT 2026-11-21T20:52:23.5+01:00 ${T2}`,
        `STDOUT ${T3} \r`,
        '',
      ].join('\n'),
    );
    const raw = Buffer.from(`${T1} one\r\n${T2} two\nthree`);
    for (const chunks of splits(raw)) bothWays(chunks, { multiplexed: false });
  });

  it('turns invalid UTF-8 into U+FFFD as a line’s text does, leaving the valid lines of the block alone', () => {
    const bytes = Buffer.concat([
      frame('stdout', `${T1} good é\n`),
      frame(
        'stdout',
        Buffer.concat([Buffer.from(`${T2} bad `), Buffer.from([0xff, 0xc3, 0xe2, 0x82]), Buffer.from('\n')]),
      ),
      frame('stdout', Buffer.concat([Buffer.from(`${T3} cut `), Buffer.from([0xe2, 0x82])])),
    ]);
    for (const chunks of splits(bytes)) {
      const text = bothWays(chunks).bytes.toString('utf8');
      expect(text).toBe(
        `STDOUT ${T1} good é\nSTDOUT ${T2} bad \uFFFD\uFFFD\uFFFD\nSTDOUT ${T3} cut \uFFFD\n`,
      );
    }
  });

  it('cuts a huge line as the line decoder does, and spans it over many frames and chunks', () => {
    const piece = 'é'.repeat(8 * 1024 - 3) + 'abcde';
    const frames: Buffer[] = [];
    const messages = Math.ceil((2.5 * MAX_LOG_LINE_BYTES) / Buffer.byteLength(piece));
    for (let i = 0; i < messages; i++) frames.push(frame('stdout', `${T1} ${piece}`));
    frames.push(frame('stdout', `${T1} end\n`), frame('stdout', `${T2} next\n`));
    const bytes = Buffer.concat(frames);
    const next = random(7);
    for (const max of [997, 70_000, bytes.length]) {
      const { bytes: file } = bothWays(randomChunks(bytes, next, max), { dropRepeats: true });
      expect(file.toString('utf8')).toContain(`STDOUT ${T2} next\n`);
    }
  });

  it('drops the lines Docker sends again, and those up to since, as lines would be', () => {
    const bytes = Buffer.concat([
      frame('stdout', `${T1} one\n`),
      frame('stdout', `${T2} two\n`),
      frame('stderr', `${T1} err\n`),
      frame('stdout', `${T1} one\n`),
      frame('stdout', `${T2} two\n`),
      frame('stdout', `${T3} three\n`),
    ]);
    expect(bothWays([bytes], { dropRepeats: true })).toEqual({
      bytes: Buffer.from(`STDOUT ${T1} one\nSTDOUT ${T2} two\nSTDERR ${T1} err\nSTDOUT ${T3} three\n`),
      repeated: 2,
    });
    const since = bothWays([bytes], { dropRepeats: true, since: T1 });
    expect(since.bytes.toString()).toBe(`STDOUT ${T2} two\nSTDOUT ${T3} three\n`);
    // The lines up to since are not counted as repeated; the second 'two' is.
    expect(since.repeated).toBe(1);
  });

  it('keeps nothing of a read buffer that is written over (a socket read into one buffer again and again)', () => {
    const next = random(3);
    const piece = 'é'.repeat(8 * 1024 - 3) + 'abcde';
    const frames = [frame('stdout', `${T1} one\n`), frame('stderr', `${T1} open `)];
    for (let i = 0; i < 200; i++) frames.push(frame('stdout', `${T2} ${piece}`));
    frames.push(
      frame('stdout', `${T2} end\n`),
      frame('stderr', `${T1} closed\n`),
      frame('stdout', `${T3} x`),
    );
    const bytes = Buffer.concat(frames);
    for (const options of [{}, { dropRepeats: true, since: T1 }]) {
      const expected = bothWays([bytes], options).bytes;
      const shared = Buffer.alloc(70_000);
      const decoder = new DockerLogBlockDecoder(options);
      const out: Buffer[] = [];
      for (const chunk of randomChunks(bytes, next, shared.length)) {
        chunk.copy(shared);
        const block = decoder.pushRanges(shared, [0, chunk.length], true);
        if (block !== undefined) out.push(block.bytes);
        shared.fill(0x41);
      }
      const last = decoder.end();
      if (last !== undefined) out.push(last.bytes);
      expect(Buffer.concat(out).equals(expected)).toBe(true);
    }
  });

  it('agrees with the line decoder on random frames, chunks, streams and characters', () => {
    const next = random(42);
    const words = ['a', 'é', '€', '😀', ' ', '\r', 'longer words here', '\t'];
    for (let round = 0; round < 60; round++) {
      const frames: Buffer[] = [];
      let time = 1;
      for (let i = 0; i < 40; i++) {
        const stream = next() < 0.3 ? 'stderr' : 'stdout';
        if (next() < 0.8) time++;
        const stamp = `2026-11-21T19:52:22.${String(time).padStart(9, '0')}Z`;
        let text = '';
        for (let w = Math.floor(next() * 6); w > 0; w--)
          text += words[Math.floor(next() * words.length)] ?? '';
        let payload = Buffer.from(`${next() < 0.05 ? '' : `${stamp} `}${text}${next() < 0.8 ? '\n' : ''}`);
        if (next() < 0.05) payload = Buffer.concat([payload, Buffer.from([0xf0, 0x9f])]);
        // Docker cuts a message anywhere, inside a character too; each part has the same timestamp.
        const cut = Math.floor(next() * payload.length);
        if (next() < 0.3 && cut > 31 && payload.subarray(0, 30).toString() === stamp) {
          frames.push(frame(stream, payload.subarray(0, cut)));
          frames.push(frame(stream, Buffer.concat([Buffer.from(`${stamp} `), payload.subarray(cut)])));
        } else {
          frames.push(frame(stream, payload));
        }
      }
      const bytes = Buffer.concat(frames);
      const dropRepeats = next() < 0.5;
      bothWays(randomChunks(bytes, next, 1 + Math.floor(next() * 200)), { dropRepeats });
    }
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
