/** The small HTTP/1.1 reader the Docker log streams use: chunked bodies cut anywhere, errors, aborts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { reasonOf, statusOf } from '../../../src/engine/docker/errors.js';
import {
  BodyDecoder,
  plainEndpointOf,
  plainGet,
  type BodyPiece,
} from '../../../src/engine/docker/plain-http.js';

/** The body `decoder` finds in `chunks`, and whether it saw the end. */
function bodyOf(decoder: BodyDecoder, chunks: Buffer[]): { body: string; done: boolean } {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    const ranges = decoder.read(chunk);
    for (let i = 0; i < ranges.length; i += 2) parts.push(chunk.subarray(ranges[i], ranges[i + 1]));
  }
  return { body: Buffer.concat(parts).toString('latin1'), done: decoder.done };
}

describe('BodyDecoder', () => {
  const chunked = Buffer.from(
    '5\r\nhello\r\n' + '1;name=value\r\n \r\n' + 'A\r\n0123456789\r\n' + 'b\r\n\r\nline two\n\r\n' + '0\r\n',
  );
  const end = Buffer.from('Trailer: x\r\n\r\n');
  const whole = Buffer.concat([chunked, end]);
  const expected = 'hello 0123456789\r\nline two\n';

  it('reads a chunked body, whatever the reads it comes in', () => {
    expect(bodyOf(new BodyDecoder('chunked'), [whole])).toEqual({ body: expected, done: true });
    for (let a = 0; a <= whole.length; a++) {
      for (let b = a; b <= Math.min(whole.length, a + 7); b++) {
        const reads = [whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)];
        expect(bodyOf(new BodyDecoder('chunked'), reads)).toEqual({ body: expected, done: true });
      }
    }
    const bytes = [...whole].map((byte) => Buffer.from([byte]));
    expect(bodyOf(new BodyDecoder('chunked'), bytes)).toEqual({ body: expected, done: true });
  });

  it('is not done before the last chunk and its empty trailer line', () => {
    expect(bodyOf(new BodyDecoder('chunked'), [chunked])).toEqual({ body: expected, done: false });
    expect(bodyOf(new BodyDecoder('chunked'), [Buffer.from('0\r\n\r\n')])).toEqual({ body: '', done: true });
  });

  it('gives every chunk of a long answer as a range of the read, no copy', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
    const bytes = Buffer.from(
      lines.map((line) => `${line.length.toString(16)}\r\n${line}\r\n`).join('') + '0\r\n\r\n',
    );
    const decoder = new BodyDecoder('chunked');
    const ranges = decoder.read(bytes);
    expect(ranges).toHaveLength(2000);
    expect(bodyOf(new BodyDecoder('chunked'), [bytes]).body).toBe(lines.join(''));
  });

  it('refuses a malformed chunk size', () => {
    expect(() => new BodyDecoder('chunked').read(Buffer.from('zz\r\n'))).toThrow(/malformed chunk size/);
    expect(() => new BodyDecoder('chunked').read(Buffer.from('\r\n'))).toThrow(/malformed chunk size/);
    expect(() => new BodyDecoder('chunked').read(Buffer.from('2\r\nabX'))).toThrow(/malformed chunk end/);
  });

  it('reads a body of a given length, or up to the end of the connection', () => {
    expect(bodyOf(new BodyDecoder('length', 5), [Buffer.from('hel'), Buffer.from('lo, more')])).toEqual({
      body: 'hello',
      done: true,
    });
    expect(new BodyDecoder('length', 0).done).toBe(true);
    const close = new BodyDecoder('close');
    expect(bodyOf(close, [Buffer.from('a'), Buffer.from('b')])).toEqual({ body: 'ab', done: false });
    expect(close.endsAtClose).toBe(true);
  });
});

describe('plainGet', () => {
  let server: Server | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => {
      server?.closeAllConnections();
      if (server === undefined) resolve();
      else
        server.close(() => {
          resolve();
        });
    });
    server = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** An HTTP server on a unix socket, as Docker's. */
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), 'plain-http-'));
    const socketPath = join(dir, 'docker.sock');
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(socketPath, resolve));
    return socketPath;
  }

  async function read(body: AsyncIterable<BodyPiece>): Promise<string> {
    let text = '';
    for await (const piece of body) {
      for (let i = 0; i < piece.ranges.length; i += 2) {
        text += piece.bytes.toString('latin1', piece.ranges[i], piece.ranges[i + 1]);
      }
    }
    return text;
  }

  it('streams a chunked answer, its request as sent', async () => {
    let url = '';
    const socketPath = await serve((request, response) => {
      url = request.url ?? '';
      response.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      let i = 0;
      const timer = setInterval(() => {
        response.write(`line ${i}\n`);
        if (++i === 50) {
          clearInterval(timer);
          response.end();
        }
      }, 1);
    });
    const body = await plainGet(
      { socketPath },
      '/v1.41/containers/a%20b/logs?follow=true',
      new AbortController().signal,
    );
    const expected = Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join('');
    expect(await read(body)).toBe(expected);
    expect(url).toBe('/v1.41/containers/a%20b/logs?follow=true');
  });

  it('reads a body of a given length', async () => {
    const socketPath = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Length': '5' });
      response.end('hello');
    });
    expect(await read(await plainGet({ socketPath }, '/x', new AbortController().signal))).toBe('hello');
  });

  it("throws Docker's error as Dockerode's are read: status and message", async () => {
    const socketPath = await serve((_request, response) => {
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ message: 'No such container: gone' }));
    });
    const error = await plainGet({ socketPath }, '/containers/gone/logs', new AbortController().signal).catch(
      (thrown: unknown) => thrown,
    );
    expect(statusOf(error)).toBe(404);
    expect(reasonOf(error)).toBe('No such container: gone');
  });

  it('ends a pending read when aborted', async () => {
    const socketPath = await serve((_request, response) => {
      response.writeHead(200);
      response.write('first\n');
      // and nothing more: a quiet container
    });
    const controller = new AbortController();
    const body = await plainGet({ socketPath }, '/x', controller.signal);
    const iterator = body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const pending = iterator.next();
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('fails when the connection closes before the end of a chunked answer', async () => {
    const socketPath = await serve((request, response) => {
      response.writeHead(200);
      response.write('partial\n');
      setTimeout(() => request.socket.destroy(), 20);
    });
    await expect(read(await plainGet({ socketPath }, '/x', new AbortController().signal))).rejects.toThrow(
      /before the end of its answer/,
    );
  });

  it('is used for a unix socket and plain tcp, not for TLS', () => {
    expect(plainEndpointOf(new Dockerode({ socketPath: '/var/run/docker.sock' }))).toEqual({
      endpoint: { socketPath: '/var/run/docker.sock' },
      prefix: '',
    });
    expect(plainEndpointOf(new Dockerode({ host: 'engine', port: 2375, protocol: 'http' }))).toEqual({
      endpoint: { host: 'engine', port: 2375 },
      prefix: '',
    });
    expect(plainEndpointOf(new Dockerode({ host: 'engine', port: 2376, protocol: 'https' }))).toBeUndefined();
  });
});
