/**
 * Starts a local platform for a test, in a fresh directory, with an orchestrator account whose token is the
 * one the e2e secret scan looks for.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { SynapseEndpoint } from '../../src/config/config.js';
import { LocalPlatformAdmin, type SeededUser } from '../../src/local-platform/admin-client.js';
import {
  startLocalPlatform,
  type LocalPlatform,
  type LocalPlatformOptions,
} from '../../src/local-platform/server.js';
import { SynapseHttp } from '../../src/synapse/http.js';
import type { RetryPolicy } from '../../src/synapse/retry.js';

/** Retries as in production, but with waits short enough for tests. */
export const FAST_RETRY: Partial<RetryPolicy> = {
  maxAttempts: 30,
  initialDelayMs: 5,
  rateLimitInitialDelayMs: 10,
  maxDelayMs: 40,
  totalTimeMs: 20_000,
  requestTimeoutMs: 5_000,
};

export interface TestPlatform {
  platform: LocalPlatform;
  admin: LocalPlatformAdmin;
  endpoint: SynapseEndpoint;
  dataDir: string;
  /** The account the orchestrator runs as; its token is the e2e suite's secret-scan token. */
  orchestrator: SeededUser;
  /** A transport for `token` (default: the orchestrator's). */
  http(token?: string, retry?: Partial<RetryPolicy>): SynapseHttp;
  close(): Promise<void>;
}

export function endpointOf(url: string): SynapseEndpoint {
  return {
    baseUrl: url,
    repoUrl: `${url}/repo/v1`,
    fileUrl: `${url}/file/v1`,
    authUrl: `${url}/auth/v1`,
    isSynapseOrg: false,
  };
}

export async function startTestPlatform(options: Partial<LocalPlatformOptions> = {}): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'local-platform-'));
  const platform = await startLocalPlatform({ ...options, dataDir });
  const admin = new LocalPlatformAdmin(platform.url, platform.adminToken);
  const orchestrator = await admin.createUser({
    userName: 'orchestrator-bot',
    firstName: 'Orch',
    lastName: 'Bot',
    token: inject('synapseToken'),
  });
  const endpoint = endpointOf(platform.url);
  return {
    platform,
    admin,
    endpoint,
    dataDir,
    orchestrator,
    http: (token = orchestrator.token, retry = FAST_RETRY) => new SynapseHttp({ endpoint, token, retry }),
    close: () => platform.close(),
  };
}
