/**
 * What the client accepts from Synapse, and how it describes what it refuses: the shapes the lifecycle
 * depends on are checked, everything else passes through untouched, and a body that is not JSON is
 * described by what a person would read in it.
 */
import { describe, expect, it } from 'vitest';
import { describeBody } from '../../../src/synapse/http.js';
import {
  describeIssues,
  submissionBundleSchema,
  submissionStatusSchema,
} from '../../../src/synapse/schemas.js';

const status = {
  id: '9700001',
  etag: 'e-1',
  status: 'RECEIVED',
  statusVersion: 3,
  modifiedOn: '2024-01-01T00:00:00.000Z',
  annotations: { stringAnnos: [{ key: 'k', value: 'v', isPrivate: true }], longAnnos: [], doubleAnnos: [] },
  submissionAnnotations: { id: '9700001', etag: 'e-1', annotations: { k: { type: 'STRING', value: ['v'] } } },
};

describe('the shapes the orchestrator relies on', () => {
  it('keeps every field of a status it does not check, so a status written back loses nothing', () => {
    const parsed = submissionStatusSchema.parse({ ...status, score: 0.5, report: 'r', entityId: 'syn1' });
    expect(parsed).toEqual({ ...status, score: 0.5, report: 'r', entityId: 'syn1' });
  });

  it('reads a null optional field as absent (a team submission without a team is a user submission)', () => {
    const bundle = submissionBundleSchema.parse({
      submission: { id: '1', evaluationId: '2', userId: '3', teamId: null, createdOn: 'x' },
      submissionStatus: { ...status, cancelRequested: null },
    });
    expect(bundle.submission.teamId).toBeUndefined();
    expect(bundle.submission.createdOn).toBe('x');
    expect(bundle.submissionStatus.cancelRequested).toBeUndefined();
  });

  it('names each field that is missing or of the wrong type', () => {
    const result = submissionBundleSchema.safeParse({
      submission: { id: 7, evaluationId: '2' },
      submissionStatus: { ...status, status: 'DONE', submissionAnnotations: { annotations: { k: 'v' } } },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    const described = describeIssues(result.error, 'the item', 10);
    expect(described).toContain('submission.id: expected string, received number');
    expect(described).toContain('submission.userId: expected string (missing)');
    expect(described).toContain('submissionStatus.status: expected one of');
    expect(described).toContain('submissionStatus.submissionAnnotations.annotations.k: expected object');
  });

  it('names at most five problems, then says how many more', () => {
    const result = submissionStatusSchema.safeParse({ annotations: { stringAnnos: [1, 2, 3, 4, 5] } });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(describeIssues(result.error)).toMatch(/; and \d+ more$/);
    expect(describeIssues(submissionStatusSchema.safeParse('<html>').error ?? result.error)).toBe(
      'the answer: expected object, received string',
    );
  });
});

describe('a body that is not JSON', () => {
  it("is described by an HTML page's title, without its markup", () => {
    const page =
      '<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>nginx</h1></body></html>';
    expect(describeBody(page, 'text/html')).toBe('an HTML page: "503 Service Temporarily Unavailable"');
  });

  it('falls back to the first heading, then to the text, decoding entities', () => {
    expect(describeBody('<html><body><h1>Bad &amp; gone</h1></body></html>')).toBe(
      'an HTML page: "Bad & gone"',
    );
    expect(describeBody('<p>Gateway <b>timeout</b></p>', 'text/html; charset=utf-8')).toBe(
      'an HTML page: "Gateway timeout"',
    );
    expect(describeBody('<html><script>alert(1)</script></html>')).toBe('an HTML page');
  });

  it('quotes the beginning of other text, and says when the body is empty', () => {
    expect(describeBody('{"id":"1","etag":')).toBe('"{\\"id\\":\\"1\\",\\"etag\\":"');
    expect(describeBody('x'.repeat(300))).toBe(`"${'x'.repeat(200)}"…`);
    expect(describeBody('  \n')).toBe('an empty body');
  });
});
