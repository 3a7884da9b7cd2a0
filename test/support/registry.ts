/**
 * A real Docker registry for tests: Debian's `docker-registry` (the CNCF distribution registry, installed
 * by scripts/ensure-test-registry.sh) serving on 127.0.0.1:<free port> from a temporary directory. Docker
 * treats 127.0.0.0/8 as an insecure registry by default, so the engine pushes to it over plain HTTP.
 *
 * Policy, as for Docker itself (docker.ts): without an engine or without the registry binary these tests
 * are skipped on a developer's machine, and fail (never skip) when the run requires Docker (CI=true).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { describe, inject, it } from 'vitest';

export const REGISTRY_BINARY = 'docker-registry';

export function registryInstalled(): boolean {
  return spawnSync('sh', ['-c', `command -v ${REGISTRY_BINARY}`], { stdio: 'ignore' }).status === 0;
}

/** Runs `body` when both a Docker engine and the registry binary are here; see the policy above. */
export function describeWithRegistry(name: string, body: () => void): void {
  const docker = inject('dockerAvailable');
  const registry = registryInstalled();
  if (docker && registry) {
    describe(name, body);
    return;
  }
  const missing = [
    ...(docker ? [] : ['a Docker engine on /var/run/docker.sock']),
    ...(registry ? [] : [`the ${REGISTRY_BINARY} binary (run scripts/ensure-test-registry.sh)`]),
  ].join(' and ');
  if (inject('dockerRequired') || process.env.CI === 'true') {
    describe(name, () => {
      it('needs a Docker engine and a registry', () => {
        throw new Error(`These tests need ${missing}, and this run requires them (CI=true).`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: no ${missing})`, body);
  }
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry part of image references. */
  host: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /**
   * Tags the local image `source` as `<host>/<path>:<tag>`, pushes it with the engine and returns the
   * manifest digest the push reported.
   */
  push(source: string, path: string, tag: string): Promise<string>;
  /** The digest the registry serves for `<path>:<reference>` (its Docker-Content-Digest header). */
  manifestDigest(path: string, reference: string): Promise<string | undefined>;
  /** What the registry logged, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

async function waitUntilServing(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `${REGISTRY_BINARY} exited (${String(child.exitCode)}): ${readFileSync(logFile, 'utf8')}`,
      );
    }
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${REGISTRY_BINARY} did not answer on ${url} within 15 s: ${readFileSync(logFile, 'utf8')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface PushEvent {
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string };
}

export async function startTestRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'test-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      `  secret: test-registry-${port}`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'registry.log');
  const out = openSync(logFile, 'a');
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  try {
    await waitUntilServing(url, child, logFile);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const docker = new Docker();
  const pushed = new Set<string>();
  return {
    host,
    url,
    async push(source, path, tag) {
      const repo = `${host}/${path}`;
      await docker.getImage(source).tag({ repo, tag });
      pushed.add(`${repo}:${tag}`);
      // The engine wants an X-Registry-Auth header even for a registry without authentication.
      const stream = await docker.getImage(`${repo}:${tag}`).push({ authconfig: { serveraddress: host } });
      const events = await new Promise<PushEvent[]>((resolve, reject) => {
        docker.modem.followProgress(stream, (error: Error | null, output: PushEvent[]) => {
          if (error === null) resolve(output);
          else reject(error);
        });
      });
      const failure = events.find((event) => event.error !== undefined);
      if (failure !== undefined) throw new Error(`docker push ${repo}:${tag} failed: ${failure.error ?? ''}`);
      const digest = events.find((event) => event.aux?.Digest !== undefined)?.aux?.Digest;
      if (digest === undefined) throw new Error(`docker push ${repo}:${tag} reported no digest`);
      return digest;
    },
    async manifestDigest(path, reference) {
      const response = await fetch(`${url}/v2/${path}/manifests/${reference}`, {
        method: 'HEAD',
        headers: {
          Accept: [
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.docker.distribution.manifest.list.v2+json',
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.oci.image.index.v1+json',
          ].join(', '),
        },
      });
      return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
    },
    log: () => readFileSync(logFile, 'utf8'),
    async stop() {
      for (const reference of pushed) {
        await docker
          .getImage(reference)
          .remove()
          .catch(() => undefined);
      }
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
