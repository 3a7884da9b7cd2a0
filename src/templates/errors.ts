/**
 * The one error type of template preparation. `problem` says what kind of mistake it is (for callers and
 * tests); the message names the template entity, says what is wrong and what to change. Messages never
 * carry a token or a URL's query string.
 */
import { redactText } from '../logging/redact.js';

export type TemplateProblem =
  /** The entity has no annotations at all. */
  | 'no-annotations'
  /** ROOT_TEMPLATE is missing, or has no non-empty value. */
  | 'no-root-template'
  /** ROOT_TEMPLATE is not a STRING annotation. */
  | 'root-template-type'
  /** The entity is missing, or the orchestrator may not read it. */
  | 'unreadable'
  /** The entity holds no file to use as the archive. */
  | 'no-archive'
  /** The entity holds more than one external file handle. */
  | 'several-archives'
  /** The archive (or a TRS file) could not be downloaded. */
  | 'download'
  /** What was downloaded is neither a zip nor a tar(.gz) archive. */
  | 'format'
  /** The archive cannot be read to the end. */
  | 'corrupt'
  /** An entry would land outside the target directory, or is a link or a device. */
  | 'unsafe'
  /** Beyond the configured byte or entry limits. */
  | 'too-large'
  /** ROOT_TEMPLATE names no file of the extracted archive. */
  | 'root-not-in-archive'
  /** A GA4GH TRS answer that does not fit (wrong entry point, unknown file type, bad JSON). */
  | 'trs';

export class TemplateError extends Error {
  /**
   * @param message what is wrong and what to fix; the constructor puts "Template <entityId>: " before it.
   */
  constructor(
    readonly entityId: string,
    readonly problem: TemplateProblem,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(redactText(`Template ${entityId}: ${message}`), options);
    this.name = 'TemplateError';
  }
}

export function isTemplateError(error: unknown, problem?: TemplateProblem): error is TemplateError {
  return error instanceof TemplateError && (problem === undefined || error.problem === problem);
}
