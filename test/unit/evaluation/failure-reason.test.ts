/** The workflow's own error in the FailureReason and the message: which source, who may read it, how long. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  errorAnnotation,
  placeStepErrors,
  reasonWithStepError,
  stepErrorForMessage,
  type AnnotatedError,
  type LoggedError,
} from '../../../src/evaluation/failure-reason.js';
import { clearRegisteredSecrets, registerSecret } from '../../../src/logging/redact.js';
import type { SubmissionStatus } from '../../../src/synapse/types.js';

const MISSING = "'probability' is missing from the prediction file";
const BASE = 'The workflow exited with code 1 (the workflow reported an error).';

function status(parts: Partial<SubmissionStatus>): SubmissionStatus {
  return { id: '1', etag: 'e', status: 'EVALUATION_IN_PROGRESS', statusVersion: 1, ...parts };
}

afterEach(() => {
  clearRegisteredSecrets();
});

describe('errorAnnotation', () => {
  it("Sage's v2 submission_errors (written public by challengeutils) is public", () => {
    const found = errorAnnotation(
      status({
        submissionAnnotations: {
          id: '1',
          etag: 'e',
          annotations: {
            submission_status: { type: 'STRING', value: ['INVALID'] },
            submission_errors: { type: 'STRING', value: [MISSING] },
          },
        },
      }),
    );
    expect(found).toEqual({
      source: 'annotation',
      name: 'submission_errors',
      text: MISSING,
      isPrivate: false,
    });
  });

  it('the older prediction_file_errors, v1 only: private unless marked public', () => {
    const v1 = (isPrivate?: boolean) =>
      status({
        annotations: {
          stringAnnos: [
            {
              key: 'prediction_file_errors',
              value: 'bad header',
              ...(isPrivate === undefined ? {} : { isPrivate }),
            },
          ],
        },
      });
    expect(errorAnnotation(v1())?.isPrivate).toBe(true);
    expect(errorAnnotation(v1(true))?.isPrivate).toBe(true);
    expect(errorAnnotation(v1(false))).toMatchObject({ name: 'prediction_file_errors', isPrivate: false });
  });

  it("challengeutils' annotate_submission(is_private=True): a private v1 entry and a v2 copy is private", () => {
    const both = (isPrivate?: boolean) =>
      status({
        annotations: {
          stringAnnos: [
            { key: 'submission_errors', value: MISSING, ...(isPrivate === undefined ? {} : { isPrivate }) },
          ],
        },
        submissionAnnotations: {
          id: '1',
          etag: 'e',
          annotations: { submission_errors: { type: 'STRING', value: [MISSING] } },
        },
      });
    expect(errorAnnotation(both(true))).toMatchObject({ text: MISSING, isPrivate: true });
    expect(errorAnnotation(both())?.isPrivate).toBe(true);
    expect(errorAnnotation(both(false))?.isPrivate).toBe(false);
  });

  it('empty errors (a valid submission) and unknown names are not errors', () => {
    expect(
      errorAnnotation(
        status({
          submissionAnnotations: {
            id: '1',
            etag: 'e',
            annotations: {
              submission_errors: { type: 'STRING', value: ['  '] },
              rows_with_errors: { type: 'STRING', value: ['3'] },
            },
          },
        }),
      ),
    ).toBeUndefined();
  });

  it('secrets and colour codes are taken out', () => {
    registerSecret('s3cr3t-token-value');
    const found = errorAnnotation(
      status({
        submissionAnnotations: {
          id: '1',
          etag: 'e',
          annotations: {
            submission_errors: { type: 'STRING', value: ['\u001b[31mbad\u001b[0m with s3cr3t-token-value'] },
          },
        },
      }),
    );
    expect(found?.text).toBe('bad with [REDACTED]');
  });
});

describe('placeStepErrors', () => {
  const annotation = (isPrivate: boolean): AnnotatedError => ({
    source: 'annotation',
    name: 'submission_errors',
    text: MISSING,
    isPrivate,
  });
  const fromLog: LoggedError = { source: 'log', step: 'score', text: 'bad score' };

  it('a public annotation goes everywhere, shared or not', () => {
    for (const shared of [true, false]) {
      expect(placeStepErrors(annotation(false), fromLog, shared)).toEqual({
        inReason: annotation(false),
        inMessage: annotation(false),
      });
    }
  });

  it('shared results: log lines go only into the message, never into the (public) FailureReason', () => {
    expect(placeStepErrors(annotation(true), fromLog, true)).toEqual({ inMessage: fromLog });
    expect(placeStepErrors(undefined, fromLog, true)).toEqual({ inMessage: fromLog });
    expect(placeStepErrors(annotation(true), undefined, true)).toEqual({});
    expect(placeStepErrors(undefined, undefined, true)).toEqual({});
  });

  it('locked results: nothing from the log or a private annotation reaches the message', () => {
    expect(placeStepErrors(annotation(true), fromLog, false)).toEqual({ inReason: annotation(true) });
    expect(placeStepErrors(undefined, fromLog, false)).toEqual({ inReason: fromLog });
    expect(placeStepErrors(undefined, undefined, false)).toEqual({});
  });
});

describe('reasonWithStepError and stepErrorForMessage', () => {
  it('the ending first, then the workflow’s words', () => {
    expect(
      reasonWithStepError(BASE, {
        source: 'annotation',
        name: 'submission_errors',
        text: MISSING,
        isPrivate: false,
      }),
    ).toBe(`${BASE} The workflow reported (submission_errors): ${MISSING}`);
    expect(reasonWithStepError(BASE, { source: 'log', step: 'score', text: 'a\nb' })).toBe(
      `${BASE} The step "score" printed: a\nb`,
    );
    expect(reasonWithStepError(BASE, { source: 'log', step: 'workflow.cwl', text: 'x' })).toBe(
      `${BASE} The failing step printed: x`,
    );
    expect(reasonWithStepError(BASE, undefined)).toBe(BASE);
  });

  it('fits 499 characters: an annotation keeps its start, a step’s output its end', () => {
    const long = `first ${'x'.repeat(1_000)} last`;
    const fromAnnotation = reasonWithStepError(BASE, {
      source: 'annotation',
      name: 'submission_errors',
      text: long,
      isPrivate: false,
    });
    expect(fromAnnotation).toHaveLength(499);
    expect(fromAnnotation).toMatch(/first x+…$/);
    const fromLog = reasonWithStepError(BASE, { source: 'log', step: 'score', text: long });
    expect(fromLog).toHaveLength(499);
    expect(fromLog).toMatch(/printed: …x+ last$/);
  });

  it('a message quotes at most 1,500 characters, under a line saying where they come from', () => {
    const quoted = stepErrorForMessage({ source: 'log', step: 'score', text: 'y'.repeat(5_000) });
    const [heading, text] = quoted.split('\n');
    expect(heading).toBe('The step "score" printed:');
    expect(text).toHaveLength(1_500);
  });
});
