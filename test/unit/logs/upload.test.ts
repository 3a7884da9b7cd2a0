/** uploadLog with a stand-in client: what is uploaded and stored, and that no temporary zip is left. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uploadLog } from '../../../src/evaluation/logs/upload.js';
import type { SynapseClient } from '../../../src/synapse/client.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(options: { failUpload?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'log-upload-'));
  dirs.push(dir);
  const uploaded: { path: string; fileName?: string; contentType?: string; files: string[] }[] = [];
  const uploadFile = vi.fn(async (path: string, opts: { fileName?: string; contentType?: string }) => {
    // What the work directory holds while the zip is being uploaded.
    uploaded.push({ path, ...opts, files: readdirSync(join(dir, 'work')) });
    if (options.failUpload === true) throw new Error('Synapse is down');
    return '700';
  });
  const createOrUpdateFile = vi.fn(async (parentId: string, name: string, handleId: string) => ({
    id: 'syn42',
    name,
    parentId,
    dataFileHandleId: handleId,
    versionNumber: 3,
  }));
  const client = {
    files: { uploadFileForId: uploadFile },
    entities: { createOrUpdateFile },
  } as unknown as SynapseClient;
  return { dir, client, uploaded, uploadFile, createOrUpdateFile };
}

describe('uploadLog', () => {
  it('uploads the zip under SWO’s name and stores it in the folder; the temporary zip goes', async () => {
    const { dir, client, uploaded, createOrUpdateFile } = setup();
    const logPath = join(dir, 'workflow.log');
    writeFileSync(logPath, 'STDOUT 2026-11-21T19:52:22.697409123Z hello\n');
    const result = await uploadLog(client, {
      logPath,
      workDir: join(dir, 'work'),
      submissionId: '9731',
      folderId: 'syn7',
      maxBytes: 1024 * 1024,
    });
    expect(result).toEqual({
      entityId: 'syn42',
      versionNumber: 3,
      truncated: false,
      originalBytes: 44,
      uploadedBytes: expect.any(Number) as number,
    });
    expect(result?.uploadedBytes).toBeGreaterThan(44); // a zip: its entry and the headers
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]).toMatchObject({ fileName: '9731_logs.zip', contentType: 'application/zip' });
    expect(uploaded[0]?.files).toHaveLength(1);
    expect(createOrUpdateFile).toHaveBeenCalledWith('syn7', '9731_logs.zip', '700', {});
    expect(readdirSync(join(dir, 'work'))).toEqual([]);
  });

  it('uploads nothing for an empty or missing log', async () => {
    const { dir, client, uploadFile } = setup();
    const logPath = join(dir, 'workflow.log');
    const options = {
      logPath,
      workDir: join(dir, 'work'),
      submissionId: '1',
      folderId: 'syn7',
      maxBytes: 4096,
    };
    expect(await uploadLog(client, options)).toBeUndefined();
    writeFileSync(logPath, '');
    expect(await uploadLog(client, options)).toBeUndefined();
    expect(uploadFile).not.toHaveBeenCalled();
    expect(readdirSync(join(dir, 'work'))).toEqual([]);
  });

  it('lets a failed upload propagate, and still removes the temporary zip', async () => {
    const { dir, client, createOrUpdateFile } = setup({ failUpload: true });
    const logPath = join(dir, 'workflow.log');
    writeFileSync(logPath, 'x\n'.repeat(10_000));
    await expect(
      uploadLog(client, {
        logPath,
        workDir: join(dir, 'work'),
        submissionId: '1',
        folderId: 'syn7',
        maxBytes: 4096,
      }),
    ).rejects.toThrow('Synapse is down');
    expect(createOrUpdateFile).not.toHaveBeenCalled();
    expect(readdirSync(join(dir, 'work'))).toEqual([]);
  });
});
