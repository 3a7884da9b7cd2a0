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
 * Who may read it: a public annotation is already visible to the participant, so it is quoted in every
 * case. A private annotation and the log's lines are quoted only where the log itself would be: with
 * SHARE_RESULTS_IMMEDIATELY=false they go to the FailureReason (private then) and never into the message;
 * with shared results a private annotation is left out (FailureReason is public then) and the log's lines
 * are quoted. Everything quoted is redacted, stripped of colour codes and capped.
 */
import type { Logger } from '../logging/logger.js';
import { redactText } from '../logging/redact.js';
import type { SynapseClient } from '../synapse/client.js';
import { MAX_STRING_ANNOTATION_LENGTH } from '../synapse/submission-status.js';
import type { SubmissionStatus } from '../synapse/types.js';
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

/** The first recognised error annotation with some text, and whether only organizers can read it. */
export function errorAnnotation(status: SubmissionStatus): AnnotatedError | undefined {
  for (const name of ERROR_ANNOTATIONS) {
    const v1 = status.annotations?.stringAnnos?.find((a) => a.key === name);
    const v2 = status.submissionAnnotations?.annotations[name];
    const text = clean(v2 !== undefined ? v2.value.join('\n') : (v1?.value ?? ''));
    if (text.length === 0) continue;
    // v2 annotations are public; a v1 entry is private unless it says otherwise (Synapse's default).
    const isPrivate = v2 === undefined && v1?.isPrivate !== false;
    return { source: 'annotation', name, text, isPrivate };
  }
  return undefined;
}

/** Chooses what may be quoted where (see the header). */
export function placeStepErrors(
  annotation: AnnotatedError | undefined,
  fromLog: LoggedError | undefined,
  shared: boolean,
): StepErrors {
  if (annotation !== undefined && !annotation.isPrivate)
    return { inReason: annotation, inMessage: annotation };
  if (shared) return fromLog === undefined ? {} : { inReason: fromLog, inMessage: fromLog };
  const inReason = annotation ?? fromLog;
  return inReason === undefined ? {} : { inReason };
}

/** Finds the workflow's error for a failed job: the submission's status first, then the job's log. */
export async function findStepErrors(
  client: SynapseClient,
  submissionId: string,
  logPath: string | undefined,
  shared: boolean,
  logger: Logger,
): Promise<StepErrors> {
  let annotation: AnnotatedError | undefined;
  try {
    annotation = errorAnnotation(await client.evaluations.getStatus(submissionId));
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
  return placeStepErrors(annotation, fromLog, shared);
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
