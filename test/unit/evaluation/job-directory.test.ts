/** The job directory's `.synapseConfig`: what a workflow's synapseclient (or its own code) reads. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { synapseEndpoint } from '../../../src/config/index.js';
import { CREDENTIALS_FILE, JobDirectory, type JobRoot } from '../../../src/evaluation/job-directory.js';

const TOKEN = 'not-a-real-token';
const roots: string[] = [];

async function credentialsFor(baseUrl: string | undefined): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'job-directory-'));
  roots.push(dir);
  const root: JobRoot = { local: dir, host: dir, source: 'same as work directory' };
  const job = await JobDirectory.create(root, 'workflow_job.0d7e');
  await job.writeCredentials(
    'orchestrator',
    TOKEN,
    baseUrl === undefined ? undefined : synapseEndpoint(baseUrl),
  );
  const path = job.localFile(CREDENTIALS_FILE);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  return readFileSync(path, 'utf8');
}

afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('.synapseConfig', () => {
  it('for another Synapse than Sage’s, names all four endpoints synapseclient reads, portalEndpoint included', async () => {
    expect(await credentialsFor('http://172.17.0.1:8780')).toBe(
      [
        '[authentication]',
        'username=orchestrator',
        `authtoken=${TOKEN}`,
        '',
        '[endpoints]',
        'repoEndpoint=http://172.17.0.1:8780/repo/v1',
        'authEndpoint=http://172.17.0.1:8780/auth/v1',
        'fileHandleEndpoint=http://172.17.0.1:8780/file/v1',
        'portalEndpoint=http://172.17.0.1:8780/',
        '',
      ].join('\n'),
    );
  });

  it('for Sage’s Synapse (or no endpoint given), has no [endpoints]: synapseclient’s defaults are right', async () => {
    const expected = `[authentication]\nusername=orchestrator\nauthtoken=${TOKEN}\n`;
    expect(await credentialsFor('https://repo-prod.prod.sagebase.org')).toBe(expected);
    expect(await credentialsFor(undefined)).toBe(expected);
  });
});
