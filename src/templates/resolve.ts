/**
 * From a template entity to what to download: the entity's etag, its ROOT_TEMPLATE annotation and where
 * the archive lives. Like SWO, a single ExternalFileHandle gives the archive URL; unlike SWO, a file
 * uploaded to Synapse (S3, or the local platform) works too.
 */
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError } from '../synapse/errors.js';
import { CONCRETE, type Entity, type FileHandle, type V2Annotations } from '../synapse/types.js';
import { TemplateError } from './errors.js';
import { displayUrl } from './url.js';

export const ROOT_TEMPLATE = 'ROOT_TEMPLATE';

export type ArchiveLocation =
  /** An ExternalFileHandle: a plain URL, or a GA4GH TRS tool version. */
  | { kind: 'url'; url: string }
  /** The entity's own uploaded file, downloaded through a presigned URL. */
  | { kind: 'synapse-file'; fileHandle: FileHandle };

export interface ResolvedTemplate {
  entityId: string;
  /** The entity's etag when everything below was read: it changes with the file and the annotations. */
  etag: string;
  versionNumber: number | undefined;
  /** ROOT_TEMPLATE's first value, as written on the entity. */
  rootTemplate: string;
  archive: ArchiveLocation;
}

/** How many times to re-read when the entity changes while it is being read. */
const READ_ATTEMPTS = 3;

const ANNOTATION_HINT =
  'Add a STRING annotation ROOT_TEMPLATE to the template entity whose value is the path of the workflow entry point inside the archive (e.g. my-repo-main/workflow.cwl).';

/** ROOT_TEMPLATE's value, or the TemplateError SWO would have raised (same wording, plus a hint). */
export function readRootTemplate(
  entityId: string,
  annotations: V2Annotations['annotations'] | undefined,
): string {
  if (annotations === undefined || Object.keys(annotations).length === 0) {
    throw new TemplateError(
      entityId,
      'no-annotations',
      `Expected annotation called ROOT_TEMPLATE for ${entityId} but the entity has null or empty annotation map. ${ANNOTATION_HINT}`,
    );
  }
  const annotation = annotations[ROOT_TEMPLATE];
  if (annotation === undefined) {
    throw new TemplateError(
      entityId,
      'no-root-template',
      `${entityId} has no annotation called ROOT_TEMPLATE. ${ANNOTATION_HINT}`,
    );
  }
  if (annotation.type !== 'STRING') {
    throw new TemplateError(
      entityId,
      'root-template-type',
      `ROOT_TEMPLATE has wrong annotation type (${annotation.type}). Make it a STRING annotation holding the entry point's path inside the archive.`,
    );
  }
  const value = annotation.value[0];
  if (value === undefined || value.trim() === '') {
    throw new TemplateError(
      entityId,
      'no-root-template',
      `${entityId} has no annotation called ROOT_TEMPLATE with a value (it is there but empty). ${ANNOTATION_HINT}`,
    );
  }
  return value;
}

function typeName(concreteType: string): string {
  return concreteType.split('.').pop() ?? concreteType;
}

/** Where the archive is, from the entity's file handles. */
export function archiveLocation(entity: Entity, handles: FileHandle[]): ArchiveLocation {
  const external = handles.filter((handle) => handle.concreteType === CONCRETE.externalFileHandle);
  if (external.length > 1) {
    const urls = external.map((handle) => displayUrl(handle.externalURL ?? handle.fileName)).join(', ');
    throw new TemplateError(
      entity.id,
      'several-archives',
      `Expected one but found ${external.length} external file handles (${urls}). Keep a single file (the archive or TRS URL) on the template entity.`,
    );
  }
  const url = external[0]?.externalURL;
  if (url !== undefined && url !== '') return { kind: 'url', url };
  const own = handles.find((handle) => handle.id === entity.dataFileHandleId);
  if (own !== undefined && own.concreteType !== CONCRETE.externalFileHandle) {
    return { kind: 'synapse-file', fileHandle: own };
  }
  throw new TemplateError(
    entity.id,
    'no-archive',
    `Expected external file handle in entity ${entity.id}, or an uploaded file, but it is a ${typeName(entity.concreteType)} with no usable file. Make the template a File entity whose file is the workflow archive (zip or tar.gz, uploaded or as a link to a URL) or a GA4GH TRS tool URL.`,
  );
}

/** A 403 or 404 on the entity becomes a TemplateError that says whose access to check. */
export function unreadable(entityId: string, error: unknown): unknown {
  if (isSynapseError(error, 404)) {
    return new TemplateError(
      entityId,
      'unreadable',
      `${entityId} does not exist (404). Check the template id in the configuration.`,
      { cause: error },
    );
  }
  if (isSynapseError(error, 403)) {
    return new TemplateError(
      entityId,
      'unreadable',
      `the orchestrator's account may not read ${entityId} (403). Give it READ and DOWNLOAD access to the template entity.`,
      { cause: error },
    );
  }
  return error;
}

/** Reads the entity; wraps 403 and 404 as 'unreadable' TemplateErrors. */
export async function getTemplateEntity(client: SynapseClient, entityId: string): Promise<Entity> {
  try {
    return await client.entities.get(entityId);
  } catch (error) {
    throw unreadable(entityId, error);
  }
}

/**
 * Reads annotations and file handles of `entity` (already fetched, as the cache does on every call). If
 * the annotations' etag shows the entity changed in between, reads everything again.
 */
export async function resolveTemplate(
  client: SynapseClient,
  entityId: string,
  entity?: Entity,
): Promise<ResolvedTemplate> {
  let current = entity ?? (await getTemplateEntity(client, entityId));
  for (let attempt = 1; ; attempt++) {
    let annotations: V2Annotations;
    let handles: FileHandle[];
    try {
      annotations = await client.entities.getAnnotations(entityId);
      handles = await client.entities.getFileHandles(entityId);
    } catch (error) {
      throw unreadable(entityId, error);
    }
    const rootTemplate = readRootTemplate(entityId, annotations.annotations);
    const changed =
      annotations.etag !== current.etag ||
      (current.dataFileHandleId !== undefined && !handles.some((h) => h.id === current.dataFileHandleId));
    if (!changed || attempt >= READ_ATTEMPTS) {
      return {
        entityId,
        etag: current.etag,
        versionNumber: current.versionNumber,
        rootTemplate,
        archive: archiveLocation(current, handles),
      };
    }
    current = await getTemplateEntity(client, entityId);
  }
}
