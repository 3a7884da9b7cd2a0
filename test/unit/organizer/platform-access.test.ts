/** The settings setup and submit read: the same sources, parsers and messages as the orchestrator's. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { DEFAULT_SYNAPSE_ENDPOINT } from '../../../src/config/variables.js';
import { redactText } from '../../../src/logging/redact.js';
import { DEFAULT_DOCKER_ENGINE_URL, loadPlatformAccess } from '../../../src/organizer/platform-access.js';

const dir = mkdtempSync(join(tmpdir(), 'platform-access-'));
const TOKEN = 'eyJ0eXAiOiJKV1QifQ.payload-part-long.signature-part';

function envFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadPlatformAccess', () => {
  it('needs only the token: Synapse, the local Docker socket, and no orchestrator variables', () => {
    const access = loadPlatformAccess({ envFile: envFile('min.env', ''), env: { SYNAPSE_PAT: TOKEN } });
    expect(access.endpoint.baseUrl).toBe(DEFAULT_SYNAPSE_ENDPOINT);
    expect(access.endpoint.isSynapseOrg).toBe(true);
    expect(access.endpoint.repoUrl).toBe(`${DEFAULT_SYNAPSE_ENDPOINT}/repo/v1`);
    expect(access.token).toBe(TOKEN);
    expect(access.username).toBeUndefined();
    expect(access.docker.url).toBe(DEFAULT_DOCKER_ENGINE_URL);
  });

  it('reads the env file, lets the environment win, and takes the repo URL form of the endpoint', () => {
    const file = envFile(
      'both.env',
      'SYNAPSE_ENDPOINT=http://127.0.0.1:8780/repo/v1\nSYNAPSE_PAT=from-the-file-token\nSYNAPSE_USERNAME=alice\n',
    );
    const fromFile = loadPlatformAccess({ envFile: file, env: {} });
    expect(fromFile.endpoint).toMatchObject({ baseUrl: 'http://127.0.0.1:8780', isSynapseOrg: false });
    expect(fromFile.token).toBe('from-the-file-token');
    expect(fromFile.username).toBe('alice');
    const overridden = loadPlatformAccess({
      envFile: file,
      env: { SYNAPSE_PAT: TOKEN, SYNAPSE_USERNAME: '' },
    });
    expect(overridden.token).toBe(TOKEN);
    // Empty counts as unset, so the file's value is used, as for `run`.
    expect(overridden.username).toBe('alice');
  });

  it('takes the deprecated SYNAPSE_PASSWORD as the token', () => {
    expect(
      loadPlatformAccess({ envFile: envFile('none.env', ''), env: { SYNAPSE_PASSWORD: TOKEN } }).token,
    ).toBe(TOKEN);
  });

  it('names SYNAPSE_PAT when no token is set, with the way to get one for the endpoint', () => {
    const synapse = problems(() => loadPlatformAccess({ envFile: envFile('empty.env', ''), env: {} }));
    expect(synapse.problems).toEqual([expect.objectContaining({ variable: 'SYNAPSE_PAT' })]);
    expect(synapse.message).toContain('Personal Access Tokens');
    const local = problems(() =>
      loadPlatformAccess({
        envFile: envFile('empty.env', ''),
        env: { SYNAPSE_ENDPOINT: 'http://127.0.0.1:8780' },
      }),
    );
    expect(local.message).toContain('local-admin create-user');
  });

  it('reports a bad value as validate does, naming the variable and masking the token', () => {
    const error = problems(() =>
      loadPlatformAccess({
        envFile: envFile('bad.env', ''),
        env: {
          SYNAPSE_ENDPOINT: 'not a url',
          SYNAPSE_PAT: TOKEN,
          DOCKER_ENGINE_URL: 'docker.sock',
          DOCKERHUB_USERNAME: 'x',
        },
      }),
    );
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'DOCKERHUB_PASSWORD',
      'DOCKER_ENGINE_URL',
      'SYNAPSE_ENDPOINT',
    ]);
    expect(error.message).not.toContain(TOKEN);
  });

  it('names --env-file when the file given does not exist', () => {
    const error = problems(() =>
      loadPlatformAccess({ envFile: join(dir, 'missing.env'), env: { SYNAPSE_PAT: TOKEN } }),
    );
    expect(error.problems[0]).toMatchObject({ variable: '--env-file', message: 'no such file' });
  });

  it('registers the token with the redactor', () => {
    const secret = 'a-token-that-is-not-shaped-like-a-jwt-at-all';
    loadPlatformAccess({ envFile: envFile('r.env', ''), env: { SYNAPSE_PAT: secret } });
    expect(redactText(`token ${secret} here`)).not.toContain(secret);
  });

  it('finds the Docker engine and the registry credentials', () => {
    const access = loadPlatformAccess({
      envFile: envFile('docker.env', 'DOCKERHUB_USERNAME=me\nDOCKERHUB_PASSWORD=hub-password-1\n'),
      env: { SYNAPSE_PAT: TOKEN, DOCKER_HOST: 'tcp://10.0.0.5:2375', DOCKER_CONFIG: '/home/me/.docker' },
    });
    expect(access.docker.url).toBe('tcp://10.0.0.5:2375');
    expect(access.docker.dockerHub).toEqual({ username: 'me', password: 'hub-password-1' });
    expect(access.docker.configFile).toBe('/home/me/.docker/config.json');
    const explicit = loadPlatformAccess({
      envFile: envFile('docker2.env', ''),
      env: {
        SYNAPSE_PAT: TOKEN,
        DOCKER_HOST: 'tcp://10.0.0.5:2375',
        DOCKER_ENGINE_URL: 'unix:///run/user/docker.sock',
        DOCKER_CONFIG_FILE: '/etc/registries.json',
      },
    });
    expect(explicit.docker.url).toBe('unix:///run/user/docker.sock');
    expect(explicit.docker.configFile).toBe('/etc/registries.json');
  });
});
