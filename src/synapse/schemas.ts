/**
 * The shapes the orchestrator relies on, checked where Synapse's answers come in. A proxy's page, a
 * truncated body or an API change must become a clear error here, naming the field, and not a TypeError
 * (or a wrong decision: a status whose `status` is missing reads as "not waiting") deep in the lifecycle.
 *
 * Only what the code reads is checked; every other field passes through untouched (objects are loose), so
 * a status read, changed and written back loses nothing. Optional fields may be absent or null (Synapse
 * omits nulls, but a null is harmless once it reads as absent).
 */
import { z } from 'zod';
import { SUBMISSION_STATUSES } from './types.js';

/** Absent, or null read as absent. */
const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);

const id = z.string().min(1);

const v1Entry = <T extends z.ZodType>(value: T) => z.looseObject({ key: z.string(), value: optional(value) });

export const v1AnnotationsSchema = z.looseObject({
  stringAnnos: optional(z.array(v1Entry(z.string()))),
  longAnnos: optional(z.array(v1Entry(z.number()))),
  doubleAnnos: optional(z.array(v1Entry(z.number()))),
});

export const v2AnnotationsSchema = z.looseObject({
  annotations: z.record(z.string(), z.looseObject({ type: z.string(), value: z.array(z.string()) })),
});

export const submissionStatusSchema = z.looseObject({
  id,
  etag: z.string(),
  status: z.enum(SUBMISSION_STATUSES),
  annotations: optional(v1AnnotationsSchema),
  submissionAnnotations: optional(v2AnnotationsSchema),
  canCancel: optional(z.boolean()),
  cancelRequested: optional(z.boolean()),
});

export const submissionSchema = z.looseObject({
  id,
  evaluationId: id,
  userId: id,
  teamId: optional(id),
});

export const submissionBundleSchema = z.looseObject({
  submission: submissionSchema,
  submissionStatus: submissionStatusSchema,
});

/** A page of a listing; its items are checked one by one by whoever reads them. */
export const pageSchema = z.looseObject({ results: z.array(z.unknown()) });

/** "submission.userId: missing; submissionStatus.status: expected one of …", for messages and logs. */
export function describeIssues(error: z.ZodError, whole = 'the answer', most = 5): string {
  const described = error.issues.slice(0, most).map((issue) => {
    const where = issue.path.length === 0 ? whole : issue.path.map(String).join('.');
    const what = issue.message
      .replace(/^Invalid (input|option): /, '')
      .replace(/, received undefined$/, ' (missing)');
    return `${where}: ${what}`;
  });
  const more = error.issues.length > most ? `; and ${error.issues.length - most} more` : '';
  return `${described.join('; ')}${more}`;
}
