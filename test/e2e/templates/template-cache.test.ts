/**
 * Workflow templates against the local platform: template entities made the way challenge admins make
 * them (a link to a URL, an uploaded archive, a TRS tool), served by a small HTTP server that counts its
 * requests, then prepared by TemplateCache. Covers every broken case's message, caching by etag, edits
 * being picked up, and concurrent calls sharing one download.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import type { SynapseRequest } from '../../../src/synapse/http.js';
import { CONCRETE, type Entity } from '../../../src/synapse/types.js';
import {
  TemplateCache,
  TemplateError,
  type PreparedTemplate,
  type TemplateLimits,
  type TemplateProblem,
} from '../../../src/templates/index.js';
import { productLogStream } from '../../support/cli.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { patch, rawTar, tarBytes, zipBytes } from '../../support/archives.js';

interface Route {
  body: Buffer | string;
  contentType?: string;
  status?: number;
  delayMs?: number;
  /** Answer the first n requests with a 503. */
  failTimes?: number;
  /** Cut the connection half-way through the body for the first n requests. */
  cutTimes?: number;
}

let t: TestPlatform;
let client: SynapseClient;
let project: Entity;
let server: Server;
let base: string;
const routes = new Map<string, Route>();
/** Requests per path (without query string). */
const hits = new Map<string, number>();
const logger = createLogger({ level: 'debug', format: 'json', stream: productLogStream() });
const LIMITS: TemplateLimits = { maxBytes: 5 * 1024 * 1024, maxEntries: 1000 };
let counter = 0;

const unique = (prefix: string) => `${prefix}-${++counter}`;

function serve(path: string, route: Route): string {
  routes.set(path, route);
  return `${base}${path}`;
}

const hitsOf = (path: string) => hits.get(path) ?? 0;

async function newCache(limits = LIMITS): Promise<{ cache: TemplateCache; cacheDir: string }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'template-cache-'));
  return { cache: new TemplateCache({ client, cacheDir, limits, logger }), cacheDir };
}

/** A template entity owned by the orchestrator: a link to `url`, or an uploaded archive. */
async function template(options: {
  url?: string;
  archive?: Buffer;
  fileName?: string;
  rootTemplate?: string;
}): Promise<Entity> {
  return t.admin.createTemplate({
    name: unique('template'),
    parentId: project.id,
    ownerId: t.orchestrator.ownerId,
    ...(options.rootTemplate === undefined ? {} : { rootTemplate: options.rootTemplate }),
    ...(options.url === undefined ? {} : { externalURL: options.url }),
    ...(options.archive === undefined
      ? {}
      : { archiveBase64: options.archive.toString('base64'), fileName: options.fileName ?? 'template.zip' }),
  });
}

async function refused(
  promise: Promise<unknown>,
  entityId: string,
  problem: TemplateProblem,
): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TemplateError);
  expect((error as TemplateError).problem).toBe(problem);
  expect((error as TemplateError).message).toMatch(new RegExp(`^Template ${entityId}: `));
  expect((error as TemplateError).message).not.toContain(t.orchestrator.token);
  return (error as TemplateError).message;
}

/** A GitHub-style archive: everything under <repo>-<branch>/. */
function githubZip(marker = 'v1'): Promise<Buffer> {
  return zipBytes([
    { name: 'Example-main/' },
    { name: 'Example-main/workflow.cwl', data: `# ${marker}\ncwlVersion: v1.0\n` },
    { name: 'Example-main/tools/step.cwl', data: 'class: CommandLineTool\n' },
  ]);
}

beforeAll(async () => {
  t = await startTestPlatform();
  client = new SynapseClient({
    endpoint: t.endpoint,
    token: t.orchestrator.token,
    retry: FAST_RETRY,
    logger,
  });
  project = await client.entities.create({ name: 'Template tests', concreteType: CONCRETE.project });
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    hits.set(path, hitsOf(path) + 1);
    const route = routes.get(path);
    const send = () => {
      if (route === undefined) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      const seen = hitsOf(path);
      if (seen <= (route.failTimes ?? 0)) {
        response.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
        return;
      }
      if (seen <= (route.cutTimes ?? 0)) {
        const body = Buffer.from(route.body);
        response.writeHead(200, { 'Content-Length': String(body.length) });
        response.write(body.subarray(0, body.length >> 1), () => response.destroy());
        return;
      }
      response
        .writeHead(route.status ?? 200, { 'Content-Type': route.contentType ?? 'application/octet-stream' })
        .end(route.body);
    };
    if (route?.delayMs === undefined) send();
    else setTimeout(send, route.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  await t.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('templates that work', () => {
  it('prepares a GitHub-style zip from an external URL and copies it into a job directory', async () => {
    const url = serve('/gh/Example-main.zip', { body: await githubZip() });
    const entity = await template({ url, rootTemplate: 'Example-main/workflow.cwl' });
    const { cache, cacheDir } = await newCache();
    const prepared = await cache.prepare(entity.id);
    expect(prepared).toMatchObject({
      entityId: entity.id,
      versionKey: entity.etag,
      versionNumber: 1,
      rootTemplate: 'Example-main/workflow.cwl',
      source: url,
    });
    expect(prepared.dir.startsWith(cacheDir)).toBe(true);
    expect(await readdir(prepared.dir)).toEqual(['Example-main']);
    const job = await mkdtemp(join(tmpdir(), 'template-job-'));
    await cache.copyTo(prepared, job);
    expect(await readFile(join(job, 'Example-main', 'workflow.cwl'), 'utf8')).toContain('cwlVersion');
    expect(await readFile(join(job, 'Example-main', 'tools', 'step.cwl'), 'utf8')).toContain(
      'CommandLineTool',
    );
  });

  it('prepares a tar.gz from an external URL', async () => {
    const url = serve('/archives/wf.tar.gz', {
      body: await tarBytes([{ name: 'wf/main.cwl', data: 'cwlVersion: v1.2\n' }]),
    });
    const entity = await template({ url, rootTemplate: 'wf/main.cwl' });
    const prepared = await (await newCache()).cache.prepare(entity.id);
    expect(await readFile(join(prepared.dir, 'wf', 'main.cwl'), 'utf8')).toBe('cwlVersion: v1.2\n');
  });

  it('recognises a zip by its bytes when the URL has no extension', async () => {
    const url = serve('/download/template', { body: await githubZip(), contentType: 'application/zip' });
    const entity = await template({ url, rootTemplate: 'Example-main/workflow.cwl' });
    const prepared = await (await newCache()).cache.prepare(entity.id);
    expect(existsSync(join(prepared.dir, prepared.rootTemplate))).toBe(true);
  });

  it('prepares an archive uploaded to Synapse (not possible in SWO)', async () => {
    const archive = await tarBytes([{ name: 'flow/run.cwl', data: 'uploaded\n' }]);
    const entity = await template({ archive, fileName: 'flow.tar.gz', rootTemplate: 'flow/run.cwl' });
    const prepared = await (await newCache()).cache.prepare(entity.id);
    expect(prepared.source).toBe('synapse file flow.tar.gz');
    expect(await readFile(join(prepared.dir, 'flow', 'run.cwl'), 'utf8')).toBe('uploaded\n');
  });

  it('retries a busy server (503) and a transfer cut off mid-way', async () => {
    const busy = '/flaky/busy.zip';
    const first = await template({
      url: serve(busy, { body: await githubZip(), failTimes: 2 }),
      rootTemplate: 'Example-main/workflow.cwl',
    });
    await (await newCache()).cache.prepare(first.id);
    expect(hitsOf(busy)).toBe(3);
    const cut = '/flaky/cut.zip';
    const second = await template({
      url: serve(cut, { body: await githubZip(), cutTimes: 1 }),
      rootTemplate: 'Example-main/workflow.cwl',
    });
    const prepared = await (await newCache()).cache.prepare(second.id);
    expect(hitsOf(cut)).toBe(2);
    expect(existsSync(join(prepared.dir, prepared.rootTemplate))).toBe(true);
  });

  it('prepares a GA4GH TRS tool version', async () => {
    const tool = '/api/ga4gh/v2/tools/%23workflow%2Fexample/versions/v1/CWL';
    const json = (value: unknown): Route => ({
      body: JSON.stringify(value),
      contentType: 'application/json',
    });
    serve(
      `${tool}/files`,
      json([
        { file_type: 'PRIMARY_DESCRIPTOR', path: 'main.cwl' },
        { file_type: 'SECONDARY_DESCRIPTOR', path: 'tools/step.cwl' },
      ]),
    );
    serve(`${tool}/descriptor/main.cwl`, json({ type: 'CWL', content: 'main: yes\n' }));
    serve(`${tool}/descriptor/tools/step.cwl`, json({ type: 'CWL', content: 'step: yes\n' }));
    const entity = await template({ url: `${base}${tool}`, rootTemplate: 'main.cwl' });
    const prepared = await (await newCache()).cache.prepare(entity.id);
    expect(prepared.source).toBe(`${base}${tool}`);
    expect(await readFile(join(prepared.dir, 'main.cwl'), 'utf8')).toBe('main: yes\n');
    expect(await readFile(join(prepared.dir, 'tools', 'step.cwl'), 'utf8')).toBe('step: yes\n');
  });
});

describe('broken templates', () => {
  it('an entity without annotations', async () => {
    const entity = await template({ url: serve('/x/no-annotations.zip', { body: await githubZip() }) });
    const message = await refused((await newCache()).cache.prepare(entity.id), entity.id, 'no-annotations');
    expect(message).toContain(
      `Expected annotation called ROOT_TEMPLATE for ${entity.id} but the entity has null or empty annotation map.`,
    );
  });

  it('an entity with annotations but no ROOT_TEMPLATE', async () => {
    const entity = await template({ url: serve('/x/no-root.zip', { body: await githubZip() }) });
    await client.entities.setAnnotations(entity.id, { set: { purpose: { type: 'STRING', value: ['x'] } } });
    const message = await refused((await newCache()).cache.prepare(entity.id), entity.id, 'no-root-template');
    expect(message).toContain(`${entity.id} has no annotation called ROOT_TEMPLATE`);
  });

  it('a LONG-typed ROOT_TEMPLATE', async () => {
    const entity = await template({ url: serve('/x/long.zip', { body: await githubZip() }) });
    await client.entities.setAnnotations(entity.id, {
      set: { ROOT_TEMPLATE: { type: 'LONG', value: ['42'] } },
    });
    const message = await refused(
      (await newCache()).cache.prepare(entity.id),
      entity.id,
      'root-template-type',
    );
    expect(message).toContain('ROOT_TEMPLATE has wrong annotation type');
  });

  it('an entity with no file (a folder)', async () => {
    const folder = await client.entities.create({
      name: unique('folder'),
      parentId: project.id,
      concreteType: CONCRETE.folder,
    });
    await client.entities.setAnnotations(folder.id, {
      set: { ROOT_TEMPLATE: { type: 'STRING', value: ['workflow.cwl'] } },
    });
    const message = await refused((await newCache()).cache.prepare(folder.id), folder.id, 'no-archive');
    expect(message).toContain(`Expected external file handle in entity ${folder.id}`);
  });

  it('a template id that does not exist', async () => {
    await refused((await newCache()).cache.prepare('syn987654321'), 'syn987654321', 'unreadable');
  });

  it('ROOT_TEMPLATE not in the archive: the message lists the top level and guesses the path', async () => {
    const url = serve('/gh/forgot-prefix.zip', { body: await githubZip() });
    const entity = await template({ url: `${url}?token=abc123secret`, rootTemplate: 'workflow.cwl' });
    const { cache, cacheDir } = await newCache();
    const message = await refused(cache.prepare(entity.id), entity.id, 'root-not-in-archive');
    expect(message).toContain(`workflow.cwl is not in the unzipped archive downloaded from ${url}.`);
    expect(message).toContain('Example-main/');
    expect(message).toContain("Did you mean ROOT_TEMPLATE 'Example-main/workflow.cwl'?");
    expect(message).not.toContain('abc123secret');
    expect(message).not.toContain('?token');
    // Nothing half-made stays in the cache.
    expect(await readdir(join(cacheDir, entity.id))).toEqual([]);
  });

  it('ROOT_TEMPLATE not in an uploaded archive: no presigned URL in the message', async () => {
    const entity = await template({ archive: await githubZip(), rootTemplate: 'missing.cwl' });
    const message = await refused(
      (await newCache()).cache.prepare(entity.id),
      entity.id,
      'root-not-in-archive',
    );
    expect(message).toContain(
      'missing.cwl is not in the unzipped archive downloaded from synapse file template.zip',
    );
    expect(message).not.toMatch(/sig=|expires=|X-Amz|s3\/download/);
  });

  it('a corrupt (truncated) archive', async () => {
    const zip = await githubZip();
    const url = serve('/x/truncated.zip', { body: zip.subarray(0, zip.length - 40) });
    const entity = await template({ url, rootTemplate: 'Example-main/workflow.cwl' });
    const message = await refused((await newCache()).cache.prepare(entity.id), entity.id, 'corrupt');
    expect(message).toContain(url);
  });

  it('a zip-slip archive: refused, and nothing written outside the cache', async () => {
    const evil = patch(
      await zipBytes([
        { name: 'wf/workflow.cwl', data: 'x' },
        { name: 'xx/xx/xx/xx/evil.txt', data: 'owned' },
      ]),
      'xx/xx/xx/xx/evil',
      '../../../../evil',
    );
    const entity = await template({
      url: serve('/x/slip.zip', { body: evil }),
      rootTemplate: 'wf/workflow.cwl',
    });
    const { cache, cacheDir } = await newCache();
    const message = await refused(cache.prepare(entity.id), entity.id, 'unsafe');
    expect(message).toContain('../../../../evil.txt');
    expect(existsSync(join(cacheDir, '..', 'evil.txt'))).toBe(false);
    expect(existsSync(join(cacheDir, 'evil.txt'))).toBe(false);
    expect(await readdir(join(cacheDir, entity.id))).toEqual([]);
  });

  it('a tar.gz with a symlink out', async () => {
    const bytes = rawTar([
      { path: 'wf/workflow.cwl', data: 'x' },
      { path: 'wf/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    ]);
    const entity = await template({
      url: serve('/x/link.tgz', { body: bytes }),
      rootTemplate: 'wf/workflow.cwl',
    });
    await refused((await newCache()).cache.prepare(entity.id), entity.id, 'unsafe');
  });

  it('an HTML page instead of the archive, a 404, and an archive over the size limit', async () => {
    const html = await template({
      url: serve('/x/login.zip', {
        body: '<!DOCTYPE html><html><body>Sign in</body></html>',
        contentType: 'text/html',
      }),
      rootTemplate: 'wf.cwl',
    });
    expect(await refused((await newCache()).cache.prepare(html.id), html.id, 'format')).toContain(
      'HTML page',
    );
    const missing = await template({ url: `${base}/x/nowhere.zip`, rootTemplate: 'wf.cwl' });
    expect(await refused((await newCache()).cache.prepare(missing.id), missing.id, 'download')).toContain(
      'HTTP 404',
    );
    const big = await template({
      url: serve('/x/big.zip', {
        body: await zipBytes([{ name: 'noise.bin', data: Buffer.alloc(4096, 7) }]),
      }),
      rootTemplate: 'noise.bin',
    });
    const { cache } = await newCache({ maxBytes: 1000, maxEntries: 10 });
    await refused(cache.prepare(big.id), big.id, 'too-large');
  });

  it('TRS: an entry point other than ROOT_TEMPLATE, and an unexpected file type', async () => {
    const json = (value: unknown): Route => ({
      body: JSON.stringify(value),
      contentType: 'application/json',
    });
    const tool = '/api/ga4gh/v2/tools/broken/versions/v1/CWL';
    serve(`${tool}/files`, json([{ file_type: 'PRIMARY_DESCRIPTOR', path: 'other.cwl' }]));
    const wrong = await template({ url: `${base}${tool}`, rootTemplate: 'main.cwl' });
    expect(await refused((await newCache()).cache.prepare(wrong.id), wrong.id, 'trs')).toContain(
      'Expected entryPoint main.cwl but found other.cwl',
    );
    const testFiles = '/api/ga4gh/v2/tools/tests/versions/v1/CWL';
    serve(
      `${testFiles}/files`,
      json([
        { file_type: 'PRIMARY_DESCRIPTOR', path: 'main.cwl' },
        { file_type: 'TEST_FILE', path: 'test.json' },
      ]),
    );
    const unexpected = await template({ url: `${base}${testFiles}`, rootTemplate: 'main.cwl' });
    expect(await refused((await newCache()).cache.prepare(unexpected.id), unexpected.id, 'trs')).toContain(
      'Unexpected file_type TEST_FILE',
    );
  });

  it('a failed prepare is not remembered: fixing the server makes the next call work', async () => {
    const path = '/x/later.zip';
    const entity = await template({ url: `${base}${path}`, rootTemplate: 'Example-main/workflow.cwl' });
    const { cache } = await newCache();
    await refused(cache.prepare(entity.id), entity.id, 'download');
    serve(path, { body: await githubZip() });
    expect((await cache.prepare(entity.id)).rootTemplate).toBe('Example-main/workflow.cwl');
  });
});

describe('caching', () => {
  it('downloads once per etag: a second prepare (or a restart) costs only the entity GET', async () => {
    const path = '/cache/once.zip';
    const entity = await template({
      url: serve(path, { body: await githubZip() }),
      rootTemplate: 'Example-main/workflow.cwl',
    });
    const { cache, cacheDir } = await newCache();
    const first = await cache.prepare(entity.id);
    expect(hitsOf(path)).toBe(1);

    const calls = vi.spyOn(client.http, 'request');
    const second = await cache.prepare(entity.id);
    expect(second).toEqual(first);
    expect(hitsOf(path)).toBe(1);
    expect(
      calls.mock.calls.map(([request]: [SynapseRequest]) => `${request.method} ${request.path}`),
    ).toEqual([`GET /entity/${entity.id}`]);

    // A new cache over the same directory (the daemon restarted) finds it on disk.
    const restarted = new TemplateCache({ client, cacheDir, limits: LIMITS, logger });
    expect(await restarted.prepare(entity.id)).toEqual(first);
    expect(hitsOf(path)).toBe(1);
  });

  it('picks up a new archive and a changed ROOT_TEMPLATE, and drops the old version', async () => {
    const entity = await template({
      url: serve('/cache/v1.zip', { body: await githubZip('v1') }),
      rootTemplate: 'Example-main/workflow.cwl',
    });
    const { cache, cacheDir } = await newCache();
    const v1 = await cache.prepare(entity.id);
    expect(await readFile(join(v1.dir, v1.rootTemplate), 'utf8')).toContain('# v1');

    // A new archive: the entity points at another file, so its etag changes.
    const handle = await client.files.createExternalFileHandle(
      serve('/cache/v2.zip', { body: await githubZip('v2') }),
      'v2.zip',
    );
    const current = await client.entities.get(entity.id);
    await client.entities.update({ ...current, dataFileHandleId: handle.id });
    const v2 = await cache.prepare(entity.id);
    expect(v2.versionKey).not.toBe(v1.versionKey);
    expect(v2.dir).not.toBe(v1.dir);
    expect(await readFile(join(v2.dir, v2.rootTemplate), 'utf8')).toContain('# v2');
    expect(existsSync(v1.dir)).toBe(false);

    // A changed annotation changes the etag too.
    await client.entities.setAnnotations(entity.id, {
      set: { ROOT_TEMPLATE: { type: 'STRING', value: ['Example-main/tools/step.cwl'] } },
    });
    const v3 = await cache.prepare(entity.id);
    expect(v3.rootTemplate).toBe('Example-main/tools/step.cwl');
    expect(await readdir(join(cacheDir, entity.id))).toEqual(
      [v3.dir.split('/').pop() ?? '', `${v3.dir.split('/').pop() ?? ''}.json`].sort(),
    );
  });

  it('concurrent prepare() calls share one download', async () => {
    const path = '/cache/slow.zip';
    const entity = await template({
      url: serve(path, { body: await githubZip(), delayMs: 300 }),
      rootTemplate: 'Example-main/workflow.cwl',
    });
    const { cache } = await newCache();
    const results: PreparedTemplate[] = await Promise.all(
      Array.from({ length: 5 }, () => cache.prepare(entity.id)),
    );
    expect(hitsOf(path)).toBe(1);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
  });
});
