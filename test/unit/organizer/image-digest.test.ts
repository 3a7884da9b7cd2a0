/** Image references as Docker reads them, and what resolveImageDigest makes of the engine's answers. */
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  ImageDigestError,
  formatImageReference,
  parseImageReference,
  resolveImageDigest,
  shortDigest,
  type ImageDigestProblem,
} from '../../../src/engine/docker/image-digest.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const OTHER = `sha256:${'f'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    [
      'busybox',
      { registry: undefined, host: 'docker.io', path: 'busybox', tag: undefined, digest: undefined },
    ],
    [
      'library/busybox:1.36',
      { registry: undefined, host: 'docker.io', path: 'library/busybox', tag: '1.36' },
    ],
    [
      'docker.synapse.org/syn123/my-model:v1',
      { registry: 'docker.synapse.org', host: 'docker.synapse.org', path: 'syn123/my-model', tag: 'v1' },
    ],
    [
      '127.0.0.1:5000/demo/busybox:v1',
      { registry: '127.0.0.1:5000', host: '127.0.0.1:5000', path: 'demo/busybox' },
    ],
    ['localhost/x', { registry: 'localhost', host: 'localhost', path: 'x', tag: undefined }],
    ['localhost:5000/x', { registry: 'localhost:5000', path: 'x' }],
    [`ghcr.io/org/tool@${DIGEST}`, { registry: 'ghcr.io', path: 'org/tool', tag: undefined, digest: DIGEST }],
    [`quay.io/org/tool:2.0@${DIGEST}`, { path: 'org/tool', tag: '2.0', digest: DIGEST }],
    ['a.b/c__d/e-f.g_h:T_1.x-y', { registry: 'a.b', path: 'c__d/e-f.g_h', tag: 'T_1.x-y' }],
  ])('%s', (reference, expected) => {
    const parsed = parseImageReference(reference);
    expect(parsed).toMatchObject(expected);
    expect(parsed.repository).toBe(reference.replace(/@.*$/, '').replace(/:[^/:]*$/, ''));
    expect(formatImageReference(parsed)).toBe(reference);
  });

  it.each([
    ['', 'empty'],
    ['my image', 'white space'],
    ['https://ghcr.io/org/tool', 'URL'],
    ['Org/Tool', 'lowercase'],
    ['ghcr.io/Org/tool', 'lowercase'],
    ['org/tool:', 'tag'],
    ['org/tool:-bad', 'tag'],
    [`org/tool@sha256:abc`, 'digest'],
    [`org/tool@md5:${'a'.repeat(32)}`, 'digest'],
    ['org//tool', 'repository path'],
    ['ghcr.io/', 'no repository path'],
    [':v1', 'no repository name'],
    ['-host.io/x', 'registry'],
    [`x/${'a'.repeat(260)}`, 'longer than 255'],
  ])('refuses %j (%s)', (reference, why) => {
    let error: unknown;
    try {
      parseImageReference(reference);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ImageDigestError);
    expect((error as ImageDigestError).problem).toBe('invalid-reference');
    expect((error as Error).message).toContain(why);
  });

  it('shortens digests as Docker shows them', () => {
    expect(shortDigest(DIGEST)).toBe('sha256:0123456789ab');
  });
});

/** A stand-in for dockerode: records the name asked about and answers (or fails) as told. */
function engine(answer: { digest?: string; error?: object }) {
  const calls: { name: string; options: unknown }[] = [];
  const docker = {
    getImage(name: string) {
      return {
        distribution(options: unknown) {
          calls.push({ name, options });
          if (answer.error !== undefined)
            return Promise.reject(Object.assign(new Error('failed'), answer.error));
          return Promise.resolve({ Descriptor: { digest: answer.digest }, Platforms: [] });
        },
      };
    },
  } as unknown as Dockerode;
  return { docker, calls };
}

describe('resolveImageDigest', () => {
  it('resolves a tag (latest when none is given) without pulling, sending the credentials', async () => {
    const { docker, calls } = engine({ digest: DIGEST });
    const auth = { username: 'u', password: 'p', serveraddress: 'docker.synapse.org' };
    expect(await resolveImageDigest(docker, 'docker.synapse.org/syn1/m', auth)).toEqual({
      repository: 'docker.synapse.org/syn1/m',
      tag: 'latest',
      digest: DIGEST,
    });
    expect(calls[0]?.name).toBe('docker.synapse.org/syn1/m:latest');
    expect(calls[0]?.options).toMatchObject({ authconfig: auth });
  });

  it('keeps a given digest (and tag) as they are, asking about the digest', async () => {
    const { docker, calls } = engine({ digest: OTHER });
    expect(await resolveImageDigest(docker, `r.io/a/b:v9@${DIGEST}`)).toEqual({
      repository: 'r.io/a/b',
      tag: 'v9',
      digest: DIGEST,
    });
    expect(calls[0]?.name).toBe(`r.io/a/b@${DIGEST}`);
    expect(calls[0]?.options).not.toHaveProperty('authconfig');
  });

  const cases: [string, object, ImageDigestProblem, string][] = [
    [
      'manifest unknown',
      { statusCode: 404, json: { message: 'manifest unknown: manifest unknown' } },
      'not-found',
      'no tag v1 in repository r.io/a/b',
    ],
    [
      'unauthorized',
      { statusCode: 401, json: { message: 'unauthorized: authentication required' } },
      'unauthorized',
      'refused the credentials of user u',
    ],
    [
      'denied (500)',
      { statusCode: 500, json: { message: 'denied: requested access to the resource is denied' } },
      'unauthorized',
      'refused access',
    ],
    [
      'registry down',
      { statusCode: 500, json: { message: 'Get "https://r.io/v2/": dial tcp: lookup r.io: no such host' } },
      'registry-unreachable',
      'could not reach the registry r.io',
    ],
    [
      'bad reference',
      { statusCode: 400, json: { message: 'invalid reference format' } },
      'invalid-reference',
      'refused',
    ],
    [
      'engine down',
      { code: 'ENOENT', message: 'connect ENOENT /var/run/docker.sock' },
      'engine-unreachable',
      'Cannot reach the Docker engine',
    ],
    ['timeout', { name: 'AbortError' }, 'registry-unreachable', 'No answer'],
    ['something else', { statusCode: 502, json: { message: 'bad gateway' } }, 'failed', 'HTTP 502'],
  ];
  it.each(cases)('explains %s', async (_what, error, problem, text) => {
    const { docker } = engine({ error });
    const auth = { username: 'u', password: 'secret-password', serveraddress: 'r.io' };
    const failure = await resolveImageDigest(docker, 'r.io/a/b:v1', auth).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(ImageDigestError);
    expect((failure as ImageDigestError).problem).toBe(problem);
    expect((failure as Error).message).toContain(text);
    expect((failure as Error).message).not.toContain('secret-password');
  });

  it('refuses an answer without a sha256 digest', async () => {
    const { docker } = engine({ digest: 'md5:abc' });
    await expect(resolveImageDigest(docker, 'r.io/a/b:v1')).rejects.toThrow(
      /without a sha256 manifest digest/,
    );
  });
});
