/**
 * A failed workflow's own explanation, so the participant reads what the failing step said rather than the
 * engine's generic ending (a check step's "invalid submission", "permanentFail", a toil traceback).
 *
 * Two sources, in this order:
 * 1. an error annotation the workflow wrote on the submission status (Sage's templates validate in one
 *    step, publish the errors as `submission_errors`, or `prediction_file_errors` in the older
 *    ChallengeWorkflowTemplates, then fail in a later check step);
 * 2. the failing step's own last output lines in the engine's log (logs/failing-step.ts).
 *
 * Who may read it. A public annotation is already visible to the participant, so it is quoted in the
 * FailureReason and the message in every case. Anything else follows the log's rule, and the log's lines
 * never go into a public annotation:
 * - SHARE_RESULTS_IMMEDIATELY=false: a private annotation, else the log's lines, go to the FailureReason
 *   (private then), never into the message;
 * - shared results: the FailureReason is a public annotation (anyone who can read the queue, leaderboards
 *   and submission views included), while the log is readable by the submitter only. So the log's lines
 *   are quoted in the participant's message alone (sent to the submitter only), the FailureReason keeps
 *   the general reason, and a private annotation goes nowhere.
 *
 * Only what this run wrote counts: an error annotation left by an earlier run of the same submission
 * (an admin re-queued it), unchanged since this run was claimed (earlier-errors.ts), is ignored.
 * Everything quoted is redacted, stripped of colour codes and capped.
 */
import type { Logger } from '../logging/logger.js';
import { redactText } from '../logging/redact.js';
import type { SynapseClient } from '../synapse/client.js';
import { MAX_STRING_ANNOTATION_LENGTH } from '../synapse/submission-status.js';
import type { SubmissionStatus } from '../synapse/types.js';
import { isUnchanged, type RecordedErrorAnnotations } from './earlier-errors.js';
import { readFailingStep } from './logs/failing-step.js';
import { stripTerminalCodes } from './logs/tail.js';

/** The status annotations read as the workflow's own error text, first found wins. */
export const ERROR_ANNOTATIONS: readonly string[] = ['submission_errors', 'prediction_file_errors'];

export interface AnnotatedError {
  source: 'annotation';
  name: string;
  text: string;
  /** Only organizers can read it (a v1 annotation not marked public). */
  isPrivate: boolean;
}

export interface LoggedError {
  source: 'log';
  step: string | undefined;
  text: string;
}

export type StepError = AnnotatedError | LoggedError;

/** What is quoted where: in the FailureReason annotation, and in the participant's message. */
export interface StepErrors {
  inReason?: StepError;
  inMessage?: StepError;
}

/** At most this much of the quoted text goes into a message. */
const MAX_MESSAGE_QUOTE = 1_500;

const clean = (text: string): string => redactText(stripTerminalCodes(text)).trim();

/**
 * The first recognised error annotation with some text, and whether only organizers can read it. Names in
 * `earlier` whose values are unchanged since the run was claimed are an earlier run's and are skipped.
 */
export function errorAnnotation(
  status: SubmissionStatus,
  earlier?: RecordedErrorAnnotations,
): AnnotatedError | undefined {
  for (const name of ERROR_ANNOTATIONS) {
    if (earlier !== undefined && isUnchanged(status, name, earlier)) continue;
    const v1 = status.annotations?.stringAnnos?.find((a) => a.key === name);
    const v2 = status.submissionAnnotations?.annotations[name];
    const text = clean(v2 !== undefined ? v2.value.join('\n') : (v1?.value ?? ''));
    if (text.length === 0) continue;
    // A v1 entry is private unless it says otherwise (Synapse's default), even when a v2 copy exists:
    // challengeutils' annotate_submission(is_private=True) writes both. A v2 annotation alone is public.
    const isPrivate = v1 !== undefined && v1.isPrivate !== false;
    return { source: 'annotation', name, text, isPrivate };
  }
  return undefined;
}

/** Chooses what may be quoted where (see the header): log lines never go into a public FailureReason. */
export function placeStepErrors(
  annotation: AnnotatedError | undefined,
  fromLog: LoggedError | undefined,
  shared: boolean,
): StepErrors {
  if (annotation !== undefined && !annotation.isPrivate)
    return { inReason: annotation, inMessage: annotation };
  if (shared) return fromLog === undefined ? {} : { inMessage: fromLog };
  const inReason = annotation ?? fromLog;
  return inReason === undefined ? {} : { inReason };
}

/**
 * Finds the workflow's error for a failed job: the submission's status first (ignoring the error
 * annotations recorded unchanged since the claim, `earlier`), then the job's log. Also returns the status
 * it read (the final write uses its etag).
 */
export async function findStepErrors(
  client: SynapseClient,
  submissionId: string,
  logPath: string | undefined,
  shared: boolean,
  logger: Logger,
  earlier?: RecordedErrorAnnotations,
): Promise<StepErrors & { status?: SubmissionStatus }> {
  let annotation: AnnotatedError | undefined;
  let status: SubmissionStatus | undefined;
  try {
    status = await client.evaluations.getStatus(submissionId);
    annotation = errorAnnotation(status, earlier);
  } catch (error) {
    logger.warn("Could not read the submission's status for the workflow's error annotations", {
      submissionId,
      error: (error as Error).message,
    });
  }
  let fromLog: LoggedError | undefined;
  if (annotation === undefined || annotation.isPrivate) {
    const found = logPath === undefined ? undefined : await readFailingStep(logPath);
    const text = found === undefined ? '' : clean(found.lines.join('\n'));
    if (found !== undefined && text.length > 0) fromLog = { source: 'log', step: found.step, text };
  }
  return { ...placeStepErrors(annotation, fromLog, shared), ...(status === undefined ? {} : { status }) };
}

/** "The step "score"", or a plain "The failing step" when the log names no step or only the tool file. */
function stepPhrase(step: string | undefined): string {
  return step === undefined || step.endsWith('.cwl') ? 'The failing step' : `The step "${step}"`;
}

function introduction(error: StepError): string {
  return error.source === 'annotation'
    ? `The workflow reported (${error.name}):`
    : `${stepPhrase(error.step)} printed:`;
}

/**
 * Cuts `text` to `max` characters: an annotation keeps its start (its first errors), a step's output its
 * end (its last lines say what went wrong).
 */
function cut(error: StepError, max: number): string {
  const { text } = error;
  if (text.length <= max) return text;
  return error.source === 'annotation'
    ? `${text.slice(0, max - 1).trimEnd()}…`
    : `…${text.slice(text.length - (max - 1)).trimStart()}`;
}

/** The FailureReason: the ending's reason, then the workflow's own error as far as it fits in 499 characters. */
export function reasonWithStepError(
  reason: string,
  error: StepError | undefined,
  maxChars = MAX_STRING_ANNOTATION_LENGTH,
): string {
  if (error === undefined) return reason;
  const lead = `${reason} ${introduction(error)} `;
  const room = maxChars - lead.length;
  if (room < 20) return reason;
  return `${lead}${cut(error, room)}`;
}

/** The lines a failure message quotes: an introduction and the workflow's own error, capped. */
export function stepErrorForMessage(error: StepError): string {
  return `${introduction(error)}\n${cut(error, MAX_MESSAGE_QUOTE)}`;
}
