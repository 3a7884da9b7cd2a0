/**
 * Prepared workflow templates on disk, one extracted tree per (entity, etag). Each prepare() costs one
 * `GET /entity/{id}`: the etag changes whenever the file or the annotations do, so an edited template is
 * picked up on the next call (SWO needed a restart), and an unchanged one is not downloaded again (SWO
 * downloaded it for every job).
 *
 * Layout: `<cacheDir>/<entityId>/<key>/` is the tree and `<key>.json` its record, key = sha256(etag)[:16].
 * A tree is built in `.staging-*` next to it and renamed into place once complete and checked, so a tree
 * that exists is whole. When a version is prepared, the entity's other versions are removed.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import type { SynapseClient } from '../synapse/client.js';
import type { Entity } from '../synapse/types.js';
import { detectFormat } from './archive.js';
import { TemplateError } from './errors.js';
import { extractArchive, type ExtractStats } from './extract.js';
import { downloadSynapseFile, downloadUrl } from './fetch.js';
import type { TemplateLimits } from './limits.js';
import { safeRelativePath } from './paths.js';
import { getTemplateEntity, resolveTemplate, type ResolvedTemplate } from './resolve.js';
import { fetchTrs, isTrsUrl } from './trs.js';
import { displayUrl, urlPath } from './url.js';

export interface PreparedTemplate {
  entityId: string;
  /** The entity's etag the tree was made from. */
  versionKey: string;
  /** The entity's version number, when it has one (File entities do). */
  versionNumber?: number;
  /** The entry point, relative to `dir` (ROOT_TEMPLATE without a leading '/'). */
  rootTemplate: string;
  /** The extracted tree. Shared by every job: treat it as read-only and copy it with copyTo. */
  dir: string;
  /** Where it came from: the URL without query string, or 'synapse file <fileName>'. */
  source: string;
}

export interface TemplateCacheOptions {
  client: SynapseClient;
  cacheDir: string;
  limits: TemplateLimits;
  logger: Logger;
}

/** What `<key>.json` holds. */
interface CacheRecord {
  entityId: string;
  versionKey: string;
  versionNumber?: number;
  rootTemplate: string;
  source: string;
}

/** Staging directories older than this are leftovers of a crash and may go. */
const STALE_STAGING_MS = 60 * 60 * 1000;
/** How many top-level names a "not in the archive" message lists. */
const LISTED_TOP_LEVEL = 10;

export function versionDirName(etag: string): string {
  return createHash('sha256').update(etag).digest('hex').slice(0, 16);
}

/** Entity ids are `syn123`; anything else is made safe as a directory name. */
function entityDirName(entityId: string): string {
  return entityId.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** ROOT_TEMPLATE as a path inside the tree, or an 'unsafe' error when it points elsewhere. */
function rootRelative(entityId: string, rootTemplate: string): string {
  const safe = safeRelativePath(rootTemplate.replace(/^\/+/, ''));
  if (!safe.ok || safe.relative === '') {
    throw new TemplateError(
      entityId,
      'unsafe',
      `ROOT_TEMPLATE '${rootTemplate}' ${safe.ok ? 'names no file' : safe.reason}: it must be a path inside the archive, such as my-repo-main/workflow.cwl.`,
    );
  }
  return safe.relative;
}

/** The SWO message, plus what the archive's top level does hold and a guess at the intended path. */
async function rootMissing(
  tree: string,
  entityId: string,
  root: string,
  source: string,
): Promise<TemplateError> {
  const top = (await readdir(tree, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const names = top.map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name));
  const listed =
    names.length === 0
      ? 'The archive is empty.'
      : `Its top level holds: ${names.slice(0, LISTED_TOP_LEVEL).join(', ')}${names.length > LISTED_TOP_LEVEL ? `, … (${names.length} in all)` : ''}.`;
  let guess = '';
  for (const entry of top) {
    if (entry.isDirectory() && (await isFile(join(tree, entry.name, root)))) {
      guess = ` Did you mean ROOT_TEMPLATE '${entry.name}/${root}'? Archives made by GitHub put everything under <repo>-<branch>/.`;
      break;
    }
  }
  return new TemplateError(
    entityId,
    'root-not-in-archive',
    `${root} is not in the unzipped archive downloaded from ${source}. ${listed}${guess} ROOT_TEMPLATE must be the entry point's path inside the archive.`,
  );
}

export class TemplateCache {
  private readonly client: SynapseClient;
  private readonly cacheDir: string;
  private readonly limits: TemplateLimits;
  private readonly logger: Logger;
  /** Builds under way, by tree directory: concurrent calls for one version share one download. */
  private readonly building = new Map<string, Promise<PreparedTemplate>>();
  /** Trees being copied right now, with how many copies: not removed meanwhile. */
  private readonly copying = new Map<string, number>();

  constructor(options: TemplateCacheOptions) {
    this.client = options.client;
    this.cacheDir = options.cacheDir;
    this.limits = options.limits;
    this.logger = options.logger;
  }

  /**
   * The template's current version, extracted and checked. Reads the entity (one request); downloads and
   * extracts only when this version is not on disk yet. Throws TemplateError for a broken template; other
   * errors (Synapse or network trouble, a full disk) are worth another try later.
   */
  async prepare(entityId: string): Promise<PreparedTemplate> {
    const entity = await getTemplateEntity(this.client, entityId);
    const dir = this.treeDir(entityId, entity.etag);
    const pending = this.building.get(dir);
    if (pending !== undefined) return pending;
    const build = (async () =>
      (await this.fromDisk(entityId, entity.etag)) ?? (await this.build(entityId, entity)))();
    this.building.set(dir, build);
    const done = () => {
      if (this.building.get(dir) === build) this.building.delete(dir);
    };
    build.then(done, done);
    return build;
  }

  /** Copies the prepared tree into a job's directory (created when missing). */
  async copyTo(template: PreparedTemplate, targetDir: string): Promise<void> {
    this.copying.set(template.dir, (this.copying.get(template.dir) ?? 0) + 1);
    try {
      await cp(template.dir, targetDir, { recursive: true, verbatimSymlinks: true });
    } catch (error) {
      if (
        (error as { code?: unknown }).code === 'ENOENT' &&
        !(await isFile(join(template.dir, template.rootTemplate)))
      ) {
        throw new Error(
          `Template ${template.entityId}: the prepared copy at ${template.dir} is gone (a newer version replaced it?); prepare the template again.`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      const left = (this.copying.get(template.dir) ?? 1) - 1;
      if (left > 0) this.copying.set(template.dir, left);
      else this.copying.delete(template.dir);
    }
  }

  private entityDir(entityId: string): string {
    return join(this.cacheDir, entityDirName(entityId));
  }

  private treeDir(entityId: string, etag: string): string {
    return join(this.entityDir(entityId), versionDirName(etag));
  }

  /** The version already on disk, if its record matches and its entry point is there. */
  private async fromDisk(entityId: string, etag: string): Promise<PreparedTemplate | undefined> {
    const dir = this.treeDir(entityId, etag);
    let record: CacheRecord;
    try {
      record = JSON.parse(await readFile(`${dir}.json`, 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
    if (record.entityId !== entityId || record.versionKey !== etag) return undefined;
    if (!(await isFile(join(dir, record.rootTemplate)))) return undefined;
    this.logger.debug('Workflow template already prepared', { template: entityId, dir });
    return { ...record, dir };
  }

  private async build(entityId: string, entity: Entity): Promise<PreparedTemplate> {
    const started = Date.now();
    const resolved = await resolveTemplate(this.client, entityId, entity);
    const rootTemplate = rootRelative(entityId, resolved.rootTemplate);
    const entityDir = this.entityDir(entityId);
    const dir = this.treeDir(entityId, resolved.etag);
    await mkdir(entityDir, { recursive: true });
    const stage = await mkdtemp(join(entityDir, '.staging-'));
    try {
      const tree = join(stage, 'tree');
      const { source, stats } = await this.fetchInto(resolved, stage, tree);
      if (!(await isFile(join(tree, rootTemplate)))) {
        throw await rootMissing(tree, entityId, rootTemplate, source);
      }
      const record: CacheRecord = {
        entityId,
        versionKey: resolved.etag,
        ...(resolved.versionNumber === undefined ? {} : { versionNumber: resolved.versionNumber }),
        rootTemplate,
        source,
      };
      await writeFile(join(stage, 'record.json'), JSON.stringify(record));
      await rename(join(stage, 'record.json'), `${dir}.json`);
      try {
        await rename(tree, dir);
      } catch (error) {
        // Another orchestrator sharing the directory finished the same version first: use theirs.
        const code = (error as { code?: unknown }).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await isFile(join(dir, rootTemplate))))
          throw error;
      }
      this.logger.info('Workflow template prepared', {
        template: entityId,
        source,
        files: stats.files,
        bytes: stats.bytes,
        ms: Date.now() - started,
      });
      await this.removeOtherVersions(entityId, versionDirName(resolved.etag));
      return { ...record, dir };
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** Downloads and unpacks (or fetches from TRS) into `tree`; returns where it came from. */
  private async fetchInto(
    resolved: ResolvedTemplate,
    stage: string,
    tree: string,
  ): Promise<{ source: string; stats: ExtractStats }> {
    const { entityId, archive } = resolved;
    const http = this.client.http;
    if (archive.kind === 'url' && isTrsUrl(archive.url)) {
      const source = displayUrl(archive.url);
      this.logger.info('Downloading workflow template from TRS', { template: entityId, source });
      const stats = await fetchTrs(http, archive.url, tree, {
        entityId,
        rootTemplate: resolved.rootTemplate,
        limits: this.limits,
        scratchDir: stage,
      });
      return { source, stats };
    }
    const file = join(stage, 'archive');
    let source: string;
    let name: string;
    if (archive.kind === 'url') {
      source = displayUrl(archive.url);
      name = urlPath(archive.url);
      this.logger.info('Downloading workflow template', { template: entityId, source });
      await downloadUrl(http, archive.url, file, this.limits.maxBytes, entityId);
    } else {
      source = `synapse file ${archive.fileHandle.fileName}`;
      name = archive.fileHandle.fileName;
      this.logger.info('Downloading workflow template', { template: entityId, source });
      await downloadSynapseFile(this.client, entityId, archive.fileHandle, file, this.limits.maxBytes);
    }
    const format = await detectFormat(file, name, entityId);
    const stats = await extractArchive(file, format, tree, { entityId, limits: this.limits, source });
    await rm(file, { force: true });
    return { source, stats };
  }

  /** Removes the entity's other versions (unless being copied) and stale staging directories. */
  private async removeOtherVersions(entityId: string, keep: string): Promise<void> {
    const entityDir = this.entityDir(entityId);
    let names: string[];
    try {
      names = await readdir(entityDir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(entityDir, name);
      try {
        if (name.startsWith('.staging-')) {
          if (Date.now() - (await stat(path)).mtimeMs > STALE_STAGING_MS)
            await rm(path, { recursive: true, force: true });
          continue;
        }
        const key = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
        const tree = join(entityDir, key);
        if (key === keep || this.copying.has(tree) || this.building.has(tree)) continue;
        await rm(path, { recursive: true, force: true });
      } catch (error) {
        this.logger.warn('Could not remove an old version of a workflow template', {
          template: entityId,
          path,
          error: (error as Error).message,
        });
      }
    }
  }
}
