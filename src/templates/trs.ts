/**
 * GA4GH TRS (Dockstore and the like): the template URL is a tool version's descriptor-type endpoint, e.g.
 * `https://dockstore.org/api/ga4gh/v2/tools/<id>/versions/<v>/CWL`. As in SWO, `<url>/files` lists the
 * files, the PRIMARY_DESCRIPTOR must be ROOT_TEMPLATE, and each file's `content` comes from
 * `<url>/descriptor/<path>`. Paths are checked like archive entries; a leading '/' is read as relative
 * to the tool, as SWO's `new File(dir, path)` did.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SynapseHttp } from '../synapse/http.js';
import { TemplateError } from './errors.js';
import { downloadUrl } from './fetch.js';
import type { ExtractStats } from './extract.js';
import { formatBytes, type TemplateLimits } from './limits.js';
import { joinInside, safeRelativePath } from './paths.js';
import { displayUrl, urlPath } from './url.js';

const TRS_MARKER = '/api/ga4gh/v2/tools';

export function isTrsUrl(url: string): boolean {
  return urlPath(url).includes(TRS_MARKER);
}

interface TrsFile {
  file_type: string;
  path: string;
}

/** `<base>/<suffix>`, keeping the base's own encoding and query string. */
function under(base: string, suffix: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${suffix}`;
  return url.toString();
}

export interface TrsOptions {
  entityId: string;
  rootTemplate: string;
  limits: TemplateLimits;
  /** Where the JSON answers are downloaded before parsing (a scratch directory). */
  scratchDir: string;
}

async function getJson(
  http: SynapseHttp,
  url: string,
  options: TrsOptions,
  scratchName: string,
): Promise<unknown> {
  const file = join(options.scratchDir, scratchName);
  await downloadUrl(http, url, file, options.limits.maxBytes, options.entityId);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    throw new TemplateError(
      options.entityId,
      'trs',
      `the TRS server's answer at ${displayUrl(url)} is not JSON. Check that the template URL is a TRS descriptor-type URL (…/versions/<version>/CWL).`,
    );
  } finally {
    await rm(file, { force: true });
  }
}

function parseFiles(data: unknown, url: string, entityId: string): TrsFile[] {
  const fine =
    Array.isArray(data) &&
    data.every(
      (item: unknown) =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as Record<string, unknown>).file_type === 'string' &&
        typeof (item as Record<string, unknown>).path === 'string',
    );
  if (!fine) {
    throw new TemplateError(
      entityId,
      'trs',
      `the TRS file list at ${displayUrl(url)} is not an array of {file_type, path}. Check that the template URL is a TRS descriptor-type URL (…/versions/<version>/CWL).`,
    );
  }
  return data as TrsFile[];
}

/** Checks the listing as SWO did: one entry point, equal to ROOT_TEMPLATE, and descriptors only. */
function checkListing(files: TrsFile[], options: TrsOptions): void {
  for (const file of files) {
    if (file.file_type === 'PRIMARY_DESCRIPTOR') {
      if (file.path !== options.rootTemplate) {
        throw new TemplateError(
          options.entityId,
          'trs',
          `Expected entryPoint ${options.rootTemplate} but found ${file.path}. Set ROOT_TEMPLATE to the TRS tool's primary descriptor path.`,
        );
      }
    } else if (file.file_type !== 'SECONDARY_DESCRIPTOR') {
      throw new TemplateError(
        options.entityId,
        'trs',
        `Unexpected file_type ${file.file_type}. Only PRIMARY_DESCRIPTOR and SECONDARY_DESCRIPTOR files can make up a TRS template.`,
      );
    }
  }
}

/** Downloads every descriptor of the TRS tool version at `url` into `targetDir` (created here). */
export async function fetchTrs(
  http: SynapseHttp,
  url: string,
  targetDir: string,
  options: TrsOptions,
): Promise<ExtractStats> {
  const filesUrl = under(url, 'files');
  const files = parseFiles(
    await getJson(http, filesUrl, options, 'trs-files.json'),
    filesUrl,
    options.entityId,
  );
  checkListing(files, options);
  if (files.length > options.limits.maxEntries) {
    throw new TemplateError(
      options.entityId,
      'too-large',
      `the TRS tool lists ${files.length} files, more than the ${options.limits.maxEntries} a template may have.`,
    );
  }
  const stats: ExtractStats = { files: 0, directories: 0, bytes: 0 };
  await mkdir(targetDir, { recursive: true });
  for (const [index, file] of files.entries()) {
    const safe = safeRelativePath(file.path.replace(/^\/+/, ''));
    const target = safe.ok && safe.relative !== '' ? joinInside(targetDir, safe.relative) : undefined;
    if (!safe.ok || target === undefined) {
      throw new TemplateError(
        options.entityId,
        'unsafe',
        `the TRS tool lists a file '${file.path}' that ${safe.ok ? 'has no name' : safe.reason}, so it would be written outside the template directory.`,
      );
    }
    const descriptorUrl = under(
      url,
      `descriptor/${safe.relative.split('/').map(encodeURIComponent).join('/')}`,
    );
    const descriptor = await getJson(http, descriptorUrl, options, `trs-descriptor-${index}.json`);
    const content = (descriptor as { content?: unknown } | null)?.content;
    if (typeof content !== 'string') {
      throw new TemplateError(
        options.entityId,
        'trs',
        `the TRS descriptor at ${displayUrl(descriptorUrl)} has no string field 'content'.`,
      );
    }
    const bytes = Buffer.from(content, 'utf8');
    stats.bytes += bytes.length;
    if (stats.bytes > options.limits.maxBytes) {
      throw new TemplateError(
        options.entityId,
        'too-large',
        `the TRS tool's files add up to more than ${formatBytes(options.limits.maxBytes)}, the most a template may hold.`,
      );
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
    stats.files++;
  }
  return stats;
}
