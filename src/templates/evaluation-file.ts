/**
 * The evaluation file: a template kind besides CWL, for challenges whose participants submit Docker images.
 * ROOT_TEMPLATE names it; it says `kind: docker-image-evaluation` and declares the data, the limits of the
 * participant's container, the scoring image and where outputs go (docs/docker-submissions.md). The
 * orchestrator runs the image itself, locked down (src/engine/docker/image-evaluation/).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const EVALUATION_KIND = 'docker-image-evaluation';

export interface ContainerLimits {
  timeSeconds: number;
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** 0 for none, 'all', or a count. */
  gpus: number | 'all';
}

export interface ImageEvaluation {
  /** Host directory of the challenge data, read-only at /input; undefined when the file names none. */
  input: string | undefined;
  submission: ContainerLimits & {
    command: string[] | undefined;
    scratchBytes: number;
    outputBytes: number;
  };
  scoring:
    | (ContainerLimits & {
        image: string;
        command: string[] | undefined;
        gold: string | undefined;
        scratchBytes: number;
      })
    | undefined;
  uploads: { locked: string[]; shared: string[] };
}

/** Thrown for a file that says it is an evaluation file but is not a valid one; names the key to fix. */
export class EvaluationFileError extends Error {}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

const size = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(value.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined || Number(match[1]) <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size like 512m or 4g, not ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Math.floor(Number(match[1]) * unit);
});

const duration = z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(value.trim());
  const unit = TIME_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined || Number(match[1]) <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 90s, 10m or 2h, not ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * unit);
});

const hostDirectory = z.string().refine((path) => isAbsolute(path), {
  message: 'expected an absolute path of a directory on the Docker host',
});

const command = z.array(z.string()).min(1, 'expected a command like [python3, /run.py]');

const limits = {
  time: duration.default(3600),
  memory: size.default(2 * 1024 ** 3),
  cpus: z.number().positive().default(1),
  pids: z.number().int().min(16).default(256),
  gpus: z.union([z.number().int().min(0), z.literal('all')]).default(0),
  scratch: size.default(256 * 1024 ** 2),
};

const uploadList = z.array(
  z
    .string()
    .regex(
      /^(output|scoring)\/[^\0]+$/,
      'expected a path under output/ or scoring/, e.g. output/predictions.csv',
    ),
);

const schema = z
  .object({
    kind: z.literal(EVALUATION_KIND),
    version: z.literal(1),
    input: hostDirectory.optional(),
    submission: z
      .object({ command: command.optional(), ...limits, output: size.default(1024 ** 3) })
      .strict()
      .prefault({}),
    scoring: z
      .object({
        image: z.string().min(1, 'expected the scoring image, e.g. registry.example.org/acme/scorer:3'),
        command: command.optional(),
        gold: hostDirectory.optional(),
        ...limits,
      })
      .strict()
      .optional(),
    uploads: z
      .object({ locked: uploadList.default([]), shared: uploadList.default([]) })
      .strict()
      .prefault({}),
  })
  .strict();

/** Whether a parsed document says it is an evaluation file (anything else is taken for CWL). */
export function isEvaluationDocument(document: unknown): boolean {
  return (
    document !== null &&
    typeof document === 'object' &&
    (document as { kind?: unknown }).kind === EVALUATION_KIND
  );
}

/**
 * The evaluation file at `path`, or undefined when the file is not one (a CWL workflow). `shownAs` names it
 * in errors (ROOT_TEMPLATE's value).
 */
export async function readEvaluationFile(
  path: string,
  shownAs: string,
): Promise<ImageEvaluation | undefined> {
  let document: unknown;
  try {
    document = parse(await readFile(path, 'utf8'));
  } catch {
    return undefined; // not YAML: not an evaluation file (the CWL runner will say what is wrong with it)
  }
  if (!isEvaluationDocument(document)) return undefined;
  return parseEvaluation(document, shownAs);
}

export function parseEvaluation(document: unknown, shownAs: string): ImageEvaluation {
  const result = schema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const message =
        issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      return key === '' ? message : `${key}: ${message}`;
    });
    throw new EvaluationFileError(`The evaluation file ${shownAs} is not valid: ${problems.join('; ')}.`);
  }
  const file = result.data;
  const { submission, scoring } = file;
  return {
    input: file.input,
    submission: {
      command: submission.command,
      timeSeconds: submission.time,
      memoryBytes: submission.memory,
      cpus: submission.cpus,
      pids: submission.pids,
      gpus: submission.gpus,
      scratchBytes: submission.scratch,
      outputBytes: submission.output,
    },
    scoring:
      scoring === undefined
        ? undefined
        : {
            image: scoring.image,
            command: scoring.command,
            gold: scoring.gold,
            timeSeconds: scoring.time,
            memoryBytes: scoring.memory,
            cpus: scoring.cpus,
            pids: scoring.pids,
            gpus: scoring.gpus,
            scratchBytes: scoring.scratch,
          },
    uploads: file.uploads,
  };
}
