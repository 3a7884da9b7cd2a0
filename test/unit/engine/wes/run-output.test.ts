/** A WES run's output as timestamped lines: the timestamps, the line splitting and where the output is. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { timestampAfter, unixTimestampOf } from '../../../../src/engine/docker/log-decoder.js';
import { WesClient } from '../../../../src/engine/wes/client.js';
import {
  LineSplitter,
  lineIndexOf,
  lineTimestamp,
  outputSource,
  readSource,
  wesTimeMs,
} from '../../../../src/engine/wes/run-output.js';
import { nanosecondBefore } from '../../../../src/evaluation/logs/follower.js';

/** Toil's start_time of a run, as its run log gives it. */
const TOIL_START = '2026-12-07T04:43:22.088304';
const BASE = Date.UTC(2026, 11, 7, 4, 43, 22, 88);
const MIB = 1024 * 1024;

/** Nanoseconds since the epoch, as the Docker backend reads a timestamp. */
function nanos(timestamp: string): bigint {
  const unix = unixTimestampOf(timestamp);
  if (unix === undefined) throw new Error(`not a timestamp: ${timestamp}`);
  const [seconds = '', fraction = ''] = unix.split('.');
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction);
}

describe('wesTimeMs', () => {
  it.each([
    ['a zone-less Toil time, read as UTC', TOIL_START, BASE],
    ['a time in Z', '2026-12-07T04:43:22.088304Z', BASE],
    ['a time at +02:00', '2026-12-07T06:43:22.088+02:00', BASE],
    ['a time at -0500', '2026-12-06T23:43:22.088-0500', BASE],
    ['seconds only, no zone', '2026-12-07T04:43:22', BASE - 88],
  ])('%s', (_what, value, ms) => {
    expect(wesTimeMs(value)).toBe(ms);
  });

  it.each([
    ['empty', ''],
    ['null', null],
    ['undefined', undefined],
    ['garbage', 'not a time'],
    ['garbage with a zone', 'yesterday+02:00'],
  ])('%s is 0', (_what, value) => {
    expect(wesTimeMs(value)).toBe(0);
  });
});

describe('lineTimestamp and lineIndexOf', () => {
  const indexes = [
    1, 2, 3, 999, 999_999, 1_000_000, 1_000_001,
    // The run started 88 ms into its second: line 912 000 000 is the first of the next second.
    911_999_999, 912_000_000, 912_000_001, 999_999_999, 1_000_000_000, 1_000_000_001, 5_000_000_123,
  ];

  it('looks like a Docker timestamp: UTC, nine fraction digits, at the run start plus n nanoseconds', () => {
    expect(lineTimestamp(BASE, 1)).toBe('2026-12-07T04:43:22.088000001Z');
    expect(lineTimestamp(BASE, 1_000_000)).toBe('2026-12-07T04:43:22.089000000Z');
    expect(lineTimestamp(BASE, 912_000_000)).toBe('2026-12-07T04:43:23.000000000Z');
    expect(lineTimestamp(BASE, 5_000_000_123)).toBe('2026-12-07T04:43:27.088000123Z');
    for (const index of indexes) expect(lineTimestamp(BASE, index)).toMatch(/^\S{19}\.\d{9}Z$/);
  });

  it.each(indexes)('line %i round-trips', (index) => {
    expect(lineIndexOf(BASE, lineTimestamp(BASE, index))).toBe(index);
  });

  it('round-trips for a run without a start time (base 0) too', () => {
    for (const index of [1, 42, 1_000_000_000]) expect(lineIndexOf(0, lineTimestamp(0, index))).toBe(index);
  });

  it('orders lines strictly, as text and as times', () => {
    const timestamps = indexes.map((index) => lineTimestamp(BASE, index));
    for (let i = 1; i < timestamps.length; i++) {
      const [before, after] = [timestamps[i - 1] ?? '', timestamps[i] ?? ''];
      expect(after > before, `${after} > ${before}`).toBe(true);
      expect(nanos(after) > nanos(before), `${after} later than ${before}`).toBe(true);
      // What the Docker backend and the log follower use to skip lines already written.
      expect(timestampAfter(after, before)).toBe(true);
      expect(timestampAfter(before, after)).toBe(false);
      expect(Date.parse(after)).toBeGreaterThanOrEqual(Date.parse(before));
    }
  });

  it("reads the log follower's overlap timestamp (one nanosecond before a line) as the line before", () => {
    for (const index of [1, 2, 912_000_000, 1_000_000_001]) {
      const before = nanosecondBefore(lineTimestamp(BASE, index)) ?? '';
      expect(lineIndexOf(BASE, before)).toBe(index - 1);
    }
  });

  it('reads fewer fraction digits, and gives 0 for a time before the run or no timestamp at all', () => {
    expect(lineIndexOf(BASE, '2026-12-07T04:43:22.089Z')).toBe(1_000_000);
    expect(lineIndexOf(BASE, '2026-12-07T04:43:23Z')).toBe(912_000_000);
    expect(lineIndexOf(BASE, '2026-12-07T04:43:22.088Z')).toBe(0);
    expect(lineIndexOf(BASE, '2026-12-07T04:43:21.000000001Z')).toBe(0);
    expect(lineIndexOf(BASE, '2025-01-01T00:00:00Z')).toBe(0);
    expect(lineIndexOf(BASE, 'garbage')).toBe(0);
    expect(lineIndexOf(BASE, '')).toBe(0);
  });
});

describe('LineSplitter', () => {
  it('keeps a partial line until its newline comes, across pushes', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('one\ntw'))).toEqual(['one']);
    expect(splitter.push(Buffer.from('o'))).toEqual([]);
    expect(splitter.push(Buffer.from('\nthree\n\nfour'))).toEqual(['two', 'three', '']);
    expect(splitter.end()).toEqual(['four']);
    expect(splitter.end()).toEqual([]);
  });

  it('drops the CR of CRLF, also when the CR and the LF come in different pushes', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('dos\r\nline\r'))).toEqual(['dos']);
    expect(splitter.push(Buffer.from('\nlast\r\n'))).toEqual(['line', 'last']);
    expect(splitter.end()).toEqual([]);
  });

  it('end() gives nothing when the output ended with a newline', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('a\n'))).toEqual(['a']);
    expect(splitter.end()).toEqual([]);
  });

  it('keeps a character split between pushes whole', () => {
    const bytes = Buffer.from('é€\n');
    const splitter = new LineSplitter();
    expect(splitter.push(bytes.subarray(0, 1))).toEqual([]);
    expect(splitter.push(bytes.subarray(1, 3))).toEqual([]);
    expect(splitter.push(bytes.subarray(3))).toEqual(['é€']);
  });

  it('cuts a line over 1 MiB into pieces of at most 1 MiB, losing nothing', () => {
    const long = 'x'.repeat(MIB + 10);
    const splitter = new LineSplitter();
    const lines = splitter.push(Buffer.from(`${long}\nnext\n`));
    expect(summary(lines)).toEqual([`${MIB}x`, '10x', '4n']);
    expect(lines.join('') === `${long}next`).toBe(true);
  });

  it('does not hold more than 1 MiB of an unfinished line', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.alloc(MIB, 'y'))).toEqual([]);
    expect(summary(splitter.push(Buffer.from('yy')))).toEqual([`${MIB}y`]);
    expect(splitter.end()).toEqual(['yy']);
  });

  it('gives the same lines however the output is cut into reads (line n keeps its timestamp)', () => {
    // A follower reads stderr as it grows; a restarted one reads it in one go, and skips by line number.
    const output = Buffer.from(`first\n${'z'.repeat(MIB + MIB / 2)}\nafter the long line\n`);
    const whole = new LineSplitter();
    const once = [...whole.push(output), ...whole.end()];
    for (const at of [10, MIB / 2, MIB + 3, MIB + 7, MIB + MIB / 2 + 6, output.length - 3]) {
      const growing = new LineSplitter();
      const lines = [...growing.push(output.subarray(0, at)), ...growing.push(output.subarray(at))];
      expect(summary([...lines, ...growing.end()]), `read in two at ${at}`).toEqual(summary(once));
    }
    const bytewise = new LineSplitter();
    const lines: string[] = [];
    for (let at = 0; at < output.length; at += 65_536)
      lines.push(...bytewise.push(output.subarray(at, at + 65_536)));
    expect(summary([...lines, ...bytewise.end()]), 'read in 64 KiB reads').toEqual(summary(once));
    expect(summary(once)).toEqual(['5f', `${MIB}z`, `${MIB / 2}z`, '19a']);
  });

  it('does not split a UTF-8 character where it cuts a long line', () => {
    const long = `${'a'.repeat(MIB - 1)}€tail`;
    const splitter = new LineSplitter();
    const lines = splitter.push(Buffer.from(`${long}\n`));
    expect(summary(lines)).toEqual([`${MIB - 1}a`, '5€']);
    expect(lines.join('') === long).toBe(true);
  });
});

/** Each line as its length and first character (a megabyte line is no use in a failure message). */
function summary(lines: string[]): string[] {
  return lines.map((line) => `${line.length}${line.slice(0, 1)}`);
}

describe('outputSource', () => {
  const client = new WesClient('http://toil.example:8080/ga4gh/wes/v1/');
  const runId = '8e0a5bb1a8b54c3c9b3aa6e7f2b9a1c4';

  it("resolves Toil's relative log URL against the run", () => {
    const source = outputSource(client, runId, `../../../../toil/wes/v1/logs/${runId}/stderr`);
    expect(source?.kind).toBe('url');
    expect(source?.kind === 'url' ? source.url.href : '').toBe(
      `http://toil.example:8080/toil/wes/v1/logs/${runId}/stderr`,
    );
  });

  it('takes an absolute http URL as it is', () => {
    const source = outputSource(client, runId, 'http://logs.example/run/1/stdout?x=1');
    expect(source?.kind === 'url' ? source.url.href : source).toBe('http://logs.example/run/1/stdout?x=1');
  });

  it('reads a file:// URL as a path on the shared filesystem', () => {
    expect(outputSource(client, runId, 'file:///shared/runs/r1/stderr.txt')).toEqual({
      kind: 'file',
      path: '/shared/runs/r1/stderr.txt',
    });
  });

  it('takes output given as text as the text itself', () => {
    const text = 'INFO toil.worker: starting\nINFO toil.leader: finished\n';
    const source = outputSource(client, runId, text);
    expect(source).toEqual({ kind: 'text', text: Buffer.from(text) });
    expect(outputSource(client, runId, 'one line of text')?.kind).toBe('text');
  });

  it('gives nothing for no output', () => {
    expect(outputSource(client, runId, '')).toBeUndefined();
    expect(outputSource(client, runId, null)).toBeUndefined();
    expect(outputSource(client, runId, undefined)).toBeUndefined();
  });
});

describe('readSource', () => {
  const client = new WesClient('http://127.0.0.1:9/ga4gh/wes/v1');
  const dir = mkdtempSync(join(tmpdir(), 'wes-output-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file from an offset on, and a missing file as empty', async () => {
    const path = join(dir, 'stderr.txt');
    writeFileSync(path, 'abc\ndef\n');
    const source = outputSource(client, 'r', pathToFileURL(path).href);
    if (source === undefined) throw new Error('no source');
    const first = await readSource(client, source, 0);
    expect(first.bytes.toString()).toBe('abc\ndef\n');
    expect(first.next).toBe(8);
    writeFileSync(path, 'abc\ndef\nghi\n');
    const more = await readSource(client, source, first.next);
    expect(more).toEqual({ bytes: Buffer.from('ghi\n'), next: 12 });
    expect(await readSource(client, source, 12)).toEqual({ bytes: Buffer.alloc(0), next: 12 });
    expect(await readSource(client, { kind: 'file', path: join(dir, 'none') }, 0)).toEqual({
      bytes: Buffer.alloc(0),
      next: 0,
    });
  });

  it('reads text from an offset on', async () => {
    const source = { kind: 'text', text: Buffer.from('a\nb\n') } as const;
    expect(await readSource(client, source, 2)).toEqual({ bytes: Buffer.from('b\n'), next: 4 });
    expect(await readSource(client, source, 9)).toEqual({ bytes: Buffer.alloc(0), next: 9 });
  });
});
