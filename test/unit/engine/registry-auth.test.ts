import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, redactText } from '../../../src/logging/redact.js';
import {
  readDockerConfigAuths,
  registryAuthResolver,
  registryHost,
} from '../../../src/engine/docker/registry-auth.js';

const HUB = { username: 'hubuser', password: 'hub-password-1' };

describe('registryHost', () => {
  it.each([
    ['ubuntu', 'docker.io'],
    ['ubuntu:22.04', 'docker.io'],
    ['sagebionetworks/synapse-workflow-orchestrator-toil:1.0', 'docker.io'],
    ['library/busybox@sha256:abcd', 'docker.io'],
    ['local/busybox:1', 'docker.io'],
    ['docker.io/library/ubuntu', 'docker.io'],
    ['index.docker.io/library/ubuntu', 'docker.io'],
    ['registry-1.docker.io/library/ubuntu', 'docker.io'],
    ['docker.synapse.org/syn123/model:v1', 'docker.synapse.org'],
    ['ghcr.io/org/image:tag', 'ghcr.io'],
    ['localhost/image', 'localhost'],
    ['localhost:5000/image:1', 'localhost:5000'],
    ['myregistry:5000/a/b/c', 'myregistry:5000'],
    ['Quay.IO/org/image', 'quay.io'],
  ])('%s → %s', (image, host) => {
    expect(registryHost(image)).toBe(host);
  });
});

describe('registryAuthResolver', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'registry-auth-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    clearRegisteredSecrets();
  });

  function writeConfig(content: unknown): string {
    const path = join(dir, 'config.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  it('uses the Synapse account and token for docker.synapse.org', () => {
    const resolve = registryAuthResolver({
      synapseUsername: 'alice',
      synapseToken: 'tok-123456',
      dockerHub: HUB,
    });
    expect(resolve('docker.synapse.org/syn123/model:v1')).toEqual({
      username: 'alice',
      password: 'tok-123456',
      serveraddress: 'docker.synapse.org',
    });
  });

  it('does not send Synapse credentials to other registries, nor for look-alike hosts', () => {
    const resolve = registryAuthResolver({ synapseUsername: 'alice', synapseToken: 'tok-123456' });
    expect(resolve('ghcr.io/org/image')).toBeUndefined();
    expect(resolve('docker.synapse.org.evil.com/x/y')).toBeUndefined();
    expect(resolve('ubuntu')).toBeUndefined();
  });

  it('needs both the Synapse username and token', () => {
    expect(registryAuthResolver({ synapseToken: 'tok-123456' })('docker.synapse.org/syn1/x')).toBeUndefined();
  });

  it('uses DockerHub credentials for Docker Hub images in every spelling', () => {
    const resolve = registryAuthResolver({ dockerHub: HUB });
    for (const image of [
      'ubuntu',
      'sagebionetworks/toil:1',
      'docker.io/library/ubuntu',
      'index.docker.io/a/b',
    ]) {
      expect(resolve(image)).toEqual({ ...HUB, serveraddress: 'https://index.docker.io/v1/' });
    }
    expect(resolve('quay.io/org/image')).toBeUndefined();
  });

  it('pulls anonymously when nothing is configured', () => {
    const resolve = registryAuthResolver({});
    expect(resolve('ubuntu')).toBeUndefined();
    expect(resolve('docker.synapse.org/syn1/x')).toBeUndefined();
  });

  it('reads registries from a Docker config file: base64 auth and username/password fields', () => {
    const path = writeConfig({
      auths: {
        'ghcr.io': { auth: Buffer.from('ghuser:gh:pass:with:colons').toString('base64') },
        'https://quay.io/v2/': { username: 'quser', password: 'quay-password' },
        'https://index.docker.io/v1/': { auth: Buffer.from('fileuser:file-hub-pass').toString('base64') },
        'registry.example.org:5000': { auth: '' },
        'tokens.example.org': { identitytoken: 'abc' },
      },
      credsStore: 'desktop',
    });
    const resolve = registryAuthResolver({ dockerConfigPath: path });
    expect(resolve('ghcr.io/org/image:1')).toEqual({
      username: 'ghuser',
      password: 'gh:pass:with:colons',
      serveraddress: 'ghcr.io',
    });
    expect(resolve('quay.io/org/image')).toEqual({
      username: 'quser',
      password: 'quay-password',
      serveraddress: 'quay.io',
    });
    // Docker Hub from the file when DOCKERHUB_* is not set.
    expect(resolve('ubuntu')).toEqual({
      username: 'fileuser',
      password: 'file-hub-pass',
      serveraddress: 'https://index.docker.io/v1/',
    });
    expect(resolve('registry.example.org:5000/x')).toBeUndefined();
    expect(resolve('tokens.example.org/x')).toBeUndefined();
  });

  it('prefers the configured DockerHub and Synapse credentials over the file', () => {
    const path = writeConfig({
      auths: {
        'docker.io': { username: 'fileuser', password: 'file-hub-pass' },
        'docker.synapse.org': { username: 'fileuser', password: 'file-syn-pass' },
      },
    });
    const resolve = registryAuthResolver({
      dockerConfigPath: path,
      dockerHub: HUB,
      synapseUsername: 'alice',
      synapseToken: 'tok-123456',
    });
    expect(resolve('ubuntu')?.username).toBe('hubuser');
    expect(resolve('docker.synapse.org/syn1/x')?.username).toBe('alice');
    // Without Synapse credentials, the file's entry for docker.synapse.org is used.
    expect(registryAuthResolver({ dockerConfigPath: path })('docker.synapse.org/syn1/x')?.password).toBe(
      'file-syn-pass',
    );
  });

  it('registers passwords read from the file as secrets, so logs redact them', () => {
    const path = writeConfig({ auths: { 'ghcr.io': { username: 'u', password: 'file-secret-987' } } });
    registryAuthResolver({ dockerConfigPath: path });
    expect(redactText('oops file-secret-987')).not.toContain('file-secret-987');
  });

  it('treats a missing config file as no extra registries', () => {
    expect(readDockerConfigAuths(join(dir, 'absent.json')).size).toBe(0);
  });

  it('rejects a config file the operator named that does not exist, naming the variable', () => {
    const absent = join(dir, 'typo.json');
    expect(() =>
      registryAuthResolver({ dockerConfigPath: absent, dockerConfigVariable: 'DOCKER_CONFIG_FILE' }),
    ).toThrow(`DOCKER_CONFIG_FILE names ${absent}, which does not exist`);
    // A default location (no variable named it) may be absent.
    expect(registryAuthResolver({ dockerConfigPath: absent })('ghcr.io/x/y')).toBeUndefined();
  });

  it('rejects a malformed config file without quoting it', () => {
    const path = writeConfig('{"auths": {"ghcr.io": {"password": "leaky-secret-1"');
    expect(() => registryAuthResolver({ dockerConfigPath: path })).toThrow(/not valid JSON/);
    expect(() => registryAuthResolver({ dockerConfigPath: path })).not.toThrow(/leaky-secret-1/);
  });

  it('ignores a config file without auths', () => {
    const path = writeConfig({ credsStore: 'desktop' });
    expect(registryAuthResolver({ dockerConfigPath: path })('ghcr.io/x/y')).toBeUndefined();
  });
});
