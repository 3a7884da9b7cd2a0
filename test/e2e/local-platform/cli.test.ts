/** `synapse-orchestrator local-platform` and `local-admin`, run as an operator runs them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { CLI } from '../../support/paths.js';

const dataDir = mkdtempSync(join(tmpdir(), 'local-platform-cli-'));
let server: ChildProcess;
let url = '';

async function admin<T>(...args: string[]): Promise<T> {
  const result = await runCli(['local-admin', '--url', url, '--data-dir', dataDir, ...args]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  server = spawn(CLI, ['local-platform', '--data-dir', dataDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let output = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening at (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    server.on('exit', (code) => {
      reject(new Error(`local-platform exited with ${String(code)}: ${output}`));
    });
  });
});

afterAll(async () => {
  const exited = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});

describe('local-platform and local-admin', () => {
  it('binds to 127.0.0.1 and rejects requests without a known token', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await axios.get(`${url}/repo/v1/userProfile`, { validateStatus: () => true });
    expect(response.status).toBe(401);
  });

  it('seeds a whole challenge from the command line and shows it', async () => {
    const organizer = await admin<{ ownerId: string; token: string }>(
      'create-user',
      'organizer',
      '--first-name',
      'Olga',
    );
    const bot = await admin<{ ownerId: string }>('create-user', 'bot');
    const project = await admin<{ id: string }>(
      'create-project',
      'Demo challenge',
      '--owner',
      organizer.ownerId,
    );
    const logs = await admin<{ id: string; parentId: string }>(
      'create-folder',
      'Logs',
      '--parent',
      project.id,
      '--owner',
      organizer.ownerId,
    );
    expect(logs.parentId).toBe(project.id);
    const queue = await admin<{ id: string; contentSource: string }>(
      'create-evaluation',
      'Queue 1',
      '--owner',
      organizer.ownerId,
      '--content-source',
      project.id,
      '--grant',
      `${bot.ownerId}:READ,READ_PRIVATE_SUBMISSION,UPDATE_SUBMISSION`,
    );
    expect(queue.contentSource).toBe(project.id);
    const archive = join(dataDir, 'wf.zip');
    writeFileSync(archive, 'not really a zip');
    const template = await admin<{ id: string; fileHandle: { fileName: string } }>(
      'create-template',
      'workflow',
      '--parent',
      project.id,
      '--owner',
      organizer.ownerId,
      '--root',
      'wf-main/workflow.cwl',
      '--archive',
      archive,
    );
    expect(template.fileHandle.fileName).toBe('wf.zip');
    const prediction = join(dataDir, 'prediction.csv');
    writeFileSync(prediction, 'id,value\n1,2\n');
    const submission = await admin<{ id: string; evaluationId: string }>(
      'submit',
      '--evaluation',
      queue.id,
      '--user',
      organizer.ownerId,
      '--file',
      prediction,
    );
    expect(submission.evaluationId).toBe(queue.id);
    await admin('cancel', submission.id, '--force');
    const dump = await admin<{
      statuses: Record<string, { cancelRequested?: boolean }>;
      entities: Record<string, { annotations: Record<string, { value: string[] }> }>;
    }>('dump');
    expect(dump.statuses[submission.id]?.cancelRequested).toBe(true);
    expect(dump.entities[template.id]?.annotations.ROOT_TEMPLATE?.value).toEqual(['wf-main/workflow.cwl']);
    expect(JSON.stringify(dump)).not.toContain(organizer.token);
  });

  it('injects, lists and clears faults', async () => {
    await admin('fault', 'add', '--path', '^/repo/v1/userProfile$', '--status', '503', '--times', '1');
    expect(await admin<unknown[]>('fault', 'list')).toHaveLength(1);
    const user = await admin<{ token: string }>('create-user', 'faulty');
    const hit = await axios.get(`${url}/repo/v1/userProfile`, {
      headers: { Authorization: `Bearer ${user.token}` },
      validateStatus: () => true,
    });
    expect(hit.status).toBe(503);
    const next = await axios.get(`${url}/repo/v1/userProfile`, {
      headers: { Authorization: `Bearer ${user.token}` },
      validateStatus: () => true,
    });
    expect(next.status).toBe(200);
    await admin('fault', 'clear');
    expect(await admin<unknown[]>('fault', 'list')).toHaveLength(0);
  });
});

describe('output through a pipe', () => {
  it('local-admin dump | (slow reader) delivers the whole document, past the 64 KiB a pipe takes at once', async () => {
    const owner = await admin<{ ownerId: string; token: string }>(
      'create-user',
      `piper-${String(process.pid)}`,
    );
    const project = await admin<{ id: string }>('create-project', 'Pipe test', '--owner', owner.ownerId);
    const headers = { Authorization: `Bearer ${owner.token}` };
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          axios.post(
            `${url}/repo/v1/entity`,
            {
              name: `folder ${String(batch)}-${String(index)} ${'x'.repeat(120)}`,
              parentId: project.id,
              concreteType: 'org.sagebionetworks.repo.model.Folder',
            },
            { headers },
          ),
        ),
      );
    }
    // The reader starts late, so the CLI has long finished writing when the pipe is first read.
    const piped = spawn(
      'sh',
      ['-c', `"$0" local-admin --url "$1" --data-dir "$2" dump | (sleep 1; cat)`, CLI, url, dataDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    piped.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const status = await new Promise((resolve) => piped.on('close', resolve));
    expect(status).toBe(0);
    expect(Buffer.byteLength(stdout)).toBeGreaterThan(65_536 * 2);
    const dump = JSON.parse(stdout) as { entities: Record<string, { name: string }> };
    const names = Object.values(dump.entities).map((entity) => entity.name);
    expect(names.filter((name) => name.startsWith('folder '))).toHaveLength(400);
  }, 60_000);
});
