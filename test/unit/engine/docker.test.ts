/** The parts of DockerEngine that need no engine: progress parsing, client set-up, pull retries. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDockerClient } from '../../../src/engine/docker/client.js';
import { DockerEngine } from '../../../src/engine/docker/engine.js';
import { parseProgress } from '../../../src/engine/docker/progress.js';
import { ImagePullError, type PullPolicy } from '../../../src/engine/interfaces.js';
import type { RegistryAuth } from '../../../src/engine/docker/registry-auth.js';
import { createLogger } from '../../../src/logging/logger.js';

describe('parseProgress', () => {
  it.each([
    ['42.5', 42.5],
    ['  42.5\n', 42.5],
    ['STDOUT: 17\r\n', 17],
    ['55.55555', 55.55],
    ['100', 100],
    ['250', 100],
    ['-3', 0],
    ['0', 0],
    ['1e1', 10],
  ])('%j → %s', (text, value) => {
    expect(parseProgress(text)).toBe(value);
  });

  it.each(['', 'abc', 'STDERR: cat: can not open', '\n', 'NaN'])('%j → undefined', (text) => {
    expect(parseProgress(text)).toBeUndefined();
  });
});

interface ModemView {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function modemOf(docker: Dockerode): ModemView {
  return docker.modem as unknown as ModemView;
}

describe('createDockerClient', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('uses the socket of a unix URL', () => {
    expect(modemOf(createDockerClient('unix:///var/run/docker.sock')).socketPath).toBe(
      '/var/run/docker.sock',
    );
  });

  it('uses plain HTTP for tcp without certificates', () => {
    const modem = modemOf(createDockerClient('tcp://10.0.0.5:2375', '/nonexistent-certs'));
    expect(modem).toMatchObject({ host: '10.0.0.5', port: 2375, protocol: 'http' });
  });

  it('uses TLS with the certificates of certPath for tcp', () => {
    dir = mkdtempSync(join(tmpdir(), 'certs-'));
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, file), `${file} content`);
    const modem = modemOf(createDockerClient('tcp://docker.example.org:2376', dir));
    expect(modem).toMatchObject({ host: 'docker.example.org', port: 2376, protocol: 'https' });
    expect(modem.ca?.toString()).toBe('ca.pem content');
    expect(modem.cert?.toString()).toBe('cert.pem content');
    expect(modem.key?.toString()).toBe('key.pem content');
  });

  it('defaults the port by scheme', () => {
    expect(modemOf(createDockerClient('https://docker.example.org')).port).toBe(2376);
    expect(modemOf(createDockerClient('http://docker.example.org/')).port).toBe(2375);
  });

  it('rejects other URLs, naming them', () => {
    expect(() => createDockerClient('ftp://x')).toThrow(/ftp:\/\/x/);
    expect(() => createDockerClient('unix://relative.sock')).toThrow(/unix:\/\/relative\.sock/);
  });
});

/** A Dockerode whose image calls are scripted; followProgress is the real one. */
function scriptedDocker(options: { present: boolean; pulls: (() => Promise<NodeJS.ReadableStream>)[] }): {
  docker: Dockerode;
  pullCalls: { image: string; opts: unknown }[];
} {
  const docker = new Dockerode({ socketPath: '/nonexistent.sock' });
  const pullCalls: { image: string; opts: unknown }[] = [];
  vi.spyOn(docker, 'getImage').mockImplementation(
    () =>
      ({
        inspect: async () => {
          if (options.present) return { Id: 'sha256:1' };
          throw Object.assign(new Error('(HTTP code 404) no such image - No such image: x '), {
            statusCode: 404,
          });
        },
      }) as unknown as Dockerode.Image,
  );
  vi.spyOn(docker, 'pull').mockImplementation(async (image: string, opts: unknown) => {
    pullCalls.push({ image, opts });
    const next = options.pulls[pullCalls.length - 1];
    if (next === undefined) throw new Error('unexpected pull');
    return next();
  });
  return { docker, pullCalls };
}

function events(...lines: unknown[]): () => Promise<NodeJS.ReadableStream> {
  return async () => Readable.from(lines.map((line) => `${JSON.stringify(line)}\r\n`));
}

function httpError(status: number, message: string): () => Promise<NodeJS.ReadableStream> {
  return async () => {
    throw Object.assign(new Error(`(HTTP code ${status}) server error - ${message} `), {
      statusCode: status,
    });
  };
}

function engineWith(
  docker: Dockerode,
  pullPolicy: PullPolicy,
  auth?: RegistryAuth,
): { engine: DockerEngine; logs: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const engine = new DockerEngine({
    url: 'unix:///nonexistent.sock',
    privileged: false,
    rwVolumes: [],
    pullPolicy,
    pull: { attempts: 3, firstDelayMs: 1, maxDelayMs: 2 },
    registryAuth: () => auth,
    logger: createLogger({ level: 'debug', format: 'json', stream }),
    docker,
  });
  return { engine, logs: () => text };
}

const PULLED = events({ status: 'Pulling from library/x' }, { status: 'Status: Downloaded newer image' });

describe('DockerEngine.ensureImage (scripted engine)', () => {
  it("'missing' does not pull a present image", async () => {
    const { docker, pullCalls } = scriptedDocker({ present: true, pulls: [] });
    await engineWith(docker, 'missing').engine.ensureImage('x:1');
    expect(pullCalls).toHaveLength(0);
  });

  it("'always' pulls a present image, but not one pinned by digest", async () => {
    const { docker, pullCalls } = scriptedDocker({ present: true, pulls: [PULLED] });
    const { engine } = engineWith(docker, 'always');
    await engine.ensureImage('x:1');
    await engine.ensureImage('x@sha256:0123456789abcdef');
    expect(pullCalls.map((call) => call.image)).toEqual(['x:1']);
  });

  it('retries until a pull succeeds, and sends the credentials', async () => {
    const auth = { username: 'u', password: 'pw-secret-42', serveraddress: 'ghcr.io' };
    const { docker, pullCalls } = scriptedDocker({
      present: false,
      pulls: [httpError(500, 'Get "https://ghcr.io/v2/": net/http: TLS handshake timeout'), PULLED],
    });
    await engineWith(docker, 'missing', auth).engine.ensureImage('ghcr.io/o/x:1');
    expect(pullCalls).toHaveLength(2);
    expect(pullCalls[0]?.opts).toEqual({ authconfig: auth });
  });

  it('sees an error event inside the pull stream', async () => {
    const failing = events(
      { status: 'Pulling fs layer' },
      {
        errorDetail: { message: 'read tcp: connection reset by peer' },
        error: 'read tcp: connection reset by peer',
      },
    );
    const { docker, pullCalls } = scriptedDocker({ present: false, pulls: [failing, failing, failing] });
    const error = await engineWith(docker, 'missing')
      .engine.ensureImage('x:1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    expect((error as ImagePullError).message).toBe(
      'Could not pull image x:1 after 3 attempts: read tcp: connection reset by peer',
    );
    expect((error as ImagePullError).image).toBe('x:1');
    expect(pullCalls).toHaveLength(3);
  });

  it.each([
    ['manifest unknown: manifest unknown'],
    ['pull access denied for x, repository does not exist or may require docker login'],
    ['unauthorized: authentication required'],
    ['failed to register layer: no space left on device'],
  ])('does not retry "%s"', async (message) => {
    const { docker, pullCalls } = scriptedDocker({ present: false, pulls: [httpError(500, message)] });
    await expect(engineWith(docker, 'missing').engine.ensureImage('x:1')).rejects.toThrow(
      `Could not pull image x:1 after 1 attempt: ${message}`,
    );
    expect(pullCalls).toHaveLength(1);
  });

  it('keeps the password out of the error and the logs even when Docker echoes it', async () => {
    const auth = { username: 'u', password: 'pw-secret-42', serveraddress: 'ghcr.io' };
    const echo = httpError(500, 'login with pw-secret-42 failed: connection refused');
    const { docker } = scriptedDocker({ present: false, pulls: [echo, echo, echo] });
    const { engine, logs } = engineWith(docker, 'missing', auth);
    const error = await engine.ensureImage('ghcr.io/o/x:1').catch((e: unknown) => e);
    expect(String(error)).toContain('ghcr.io/o/x:1');
    expect(String(error)).not.toContain('pw-secret-42');
    expect(logs()).toContain('will retry');
    expect(logs()).not.toContain('pw-secret-42');
  });

  it('shares one pull between concurrent callers', async () => {
    const { docker, pullCalls } = scriptedDocker({ present: false, pulls: [PULLED] });
    const { engine } = engineWith(docker, 'missing');
    await Promise.all([engine.ensureImage('x:1'), engine.ensureImage('x:1')]);
    expect(pullCalls).toHaveLength(1);
  });

  it("'never' refuses a missing image without pulling", async () => {
    const { docker, pullCalls } = scriptedDocker({ present: false, pulls: [] });
    await expect(engineWith(docker, 'never').engine.ensureImage('x:1')).rejects.toThrow(
      /x:1 .*pull policy 'never' forbids pulling/,
    );
    expect(pullCalls).toHaveLength(0);
  });
});
