/** What a command printed reaches a slow reader before the process exits; a daemon's wait is bounded. */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { boundOutputDrain, drainOutput } from '../../../src/commands/drain-output.js';

/** A stream whose reader takes `delayMs` for every chunk, as a pipe read late does. */
function slowReader(delayMs: number): { stream: Writable; received: () => number } {
  let bytes = 0;
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      setTimeout(() => {
        bytes += chunk.length;
        callback();
      }, delayMs);
    },
  });
  return { stream, received: () => bytes };
}

describe('drainOutput', () => {
  afterEach(() => {
    boundOutputDrain(undefined);
  });

  it('returns only once everything written has been taken by the reader', async () => {
    const { stream, received } = slowReader(20);
    for (let i = 0; i < 10; i += 1) stream.write(Buffer.alloc(1000, 'x'));
    expect(received()).toBeLessThan(10_000);
    await drainOutput([stream]);
    expect(received()).toBe(10_000);
  });

  it('returns at once when the reader went away (the stream was destroyed)', async () => {
    const { stream } = slowReader(60_000);
    stream.write('never read');
    stream.destroy();
    await drainOutput([stream]);
    expect(stream.destroyed).toBe(true);
  });

  it('gives up after the bound a daemon sets, leaving the rest unread', async () => {
    const { stream, received } = slowReader(200);
    for (let i = 0; i < 10; i += 1) stream.write(Buffer.alloc(100, 'x'));
    boundOutputDrain(50);
    await drainOutput([stream]);
    expect(received()).toBeLessThan(1_000);
    expect(stream.writableLength).toBeGreaterThan(0);
  });
});
