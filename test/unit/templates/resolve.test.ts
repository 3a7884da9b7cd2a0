/**
 * Reading a template entity: SWO's three ROOT_TEMPLATE messages (kept word for word, with a hint after
 * them), and which file handle becomes the archive.
 */
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../../src/templates/errors.js';
import { archiveLocation, readRootTemplate } from '../../../src/templates/resolve.js';
import { CONCRETE, type Entity, type FileHandle } from '../../../src/synapse/types.js';

function thrown(action: () => unknown): TemplateError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error('nothing was thrown');
}

describe('readRootTemplate', () => {
  it('returns the first value of a STRING ROOT_TEMPLATE', () => {
    expect(
      readRootTemplate('syn1', { ROOT_TEMPLATE: { type: 'STRING', value: ['repo-main/wf.cwl', 'other'] } }),
    ).toBe('repo-main/wf.cwl');
  });

  it("keeps SWO's message for an entity without annotations", () => {
    for (const annotations of [undefined, {}]) {
      const error = thrown(() => readRootTemplate('syn7', annotations));
      expect(error.problem).toBe('no-annotations');
      expect(error.message).toContain(
        'Expected annotation called ROOT_TEMPLATE for syn7 but the entity has null or empty annotation map.',
      );
      expect(error.message).toMatch(/^Template syn7: /);
    }
  });

  it("keeps SWO's message when ROOT_TEMPLATE is missing or empty", () => {
    const missing = thrown(() => readRootTemplate('syn7', { other: { type: 'STRING', value: ['x'] } }));
    expect(missing.problem).toBe('no-root-template');
    expect(missing.message).toContain('syn7 has no annotation called ROOT_TEMPLATE');
    for (const value of [[], ['  ']]) {
      const empty = thrown(() => readRootTemplate('syn7', { ROOT_TEMPLATE: { type: 'STRING', value } }));
      expect(empty.problem).toBe('no-root-template');
    }
  });

  it("keeps SWO's message for a ROOT_TEMPLATE of another type", () => {
    const error = thrown(() => readRootTemplate('syn7', { ROOT_TEMPLATE: { type: 'LONG', value: ['3'] } }));
    expect(error.problem).toBe('root-template-type');
    expect(error.message).toContain('ROOT_TEMPLATE has wrong annotation type');
    expect(error.message).toContain('LONG');
    expect(error.message).toContain('syn7');
  });
});

describe('archiveLocation', () => {
  const entity = (dataFileHandleId?: string, concreteType: string = CONCRETE.fileEntity): Entity => ({
    id: 'syn9',
    name: 'template',
    concreteType,
    etag: 'e1',
    createdOn: '',
    modifiedOn: '',
    createdBy: '1',
    modifiedBy: '1',
    ...(dataFileHandleId === undefined ? {} : { dataFileHandleId }),
  });
  const handle = (id: string, concreteType: string, externalURL?: string): FileHandle => ({
    id,
    etag: 'h',
    concreteType,
    createdBy: '1',
    createdOn: '',
    fileName: `file${id}.zip`,
    ...(externalURL === undefined ? {} : { externalURL }),
  });

  it('uses the one external handle, as SWO did', () => {
    expect(
      archiveLocation(entity('1'), [handle('1', CONCRETE.externalFileHandle, 'https://x.org/a.zip')]),
    ).toEqual({ kind: 'url', url: 'https://x.org/a.zip' });
  });

  it("falls back to the entity's uploaded file", () => {
    const s3 = handle('2', CONCRETE.s3FileHandle);
    expect(archiveLocation(entity('2'), [s3])).toEqual({ kind: 'synapse-file', fileHandle: s3 });
  });

  it('refuses two external handles, and an entity without a file', () => {
    const two = thrown(() =>
      archiveLocation(entity('1'), [
        handle('1', CONCRETE.externalFileHandle, 'https://x.org/a.zip?sig=secret'),
        handle('2', CONCRETE.externalFileHandle, 'https://x.org/b.zip'),
      ]),
    );
    expect(two.problem).toBe('several-archives');
    expect(two.message).toContain('https://x.org/a.zip');
    expect(two.message).not.toContain('sig=secret');
    const none = thrown(() => archiveLocation(entity(undefined, CONCRETE.folder), []));
    expect(none.problem).toBe('no-archive');
    expect(none.message).toMatch(/^Template syn9: .*Folder/);
  });
});
