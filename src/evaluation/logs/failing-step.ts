/**
 * The failing step's own last output, found in the engine's log, so a failure message can quote what the
 * step said instead of the engine's generic ending ("Final process status is permanentFail", toil's
 * FailedJobsException traceback, cwltool's "Workflow error").
 *
 * Both engines print, for each tool they run, the command line (`[job <name>] <dir>$ <command> \`, shell
 * quoted, over several lines), then the tool's own stdout and stderr as it comes, then their own status
 * lines for that job (`[job <name>] Max memory used`, `exited with status: N`, `Job error:`), ending with
 * `[job <name>] completed permanentFail`. cwltool's lines start with a level (`INFO`, `WARNING`, …); toil's
 * with `[<time>] [<thread>] [<level letter>] [<logger>]`, and toil repeats a failed job's whole output,
 * each line indented by a tab, between `=========>` and `<=========`. An ExpressionTool that throws has no
 * command and no job lines; cwltool reports what the expression threw as `stderr was: '<text>'`.
 */
import { readLastLines } from './tail.js';

export interface FailingStep {
  /** The step's name in the workflow (toil's job id suffix removed); undefined when the log does not say. */
  step: string | undefined;
  /** The step's own last output lines, the engine's lines left out; never empty. */
  lines: string[];
}

/** How much of the log's end is searched: enough for toil's repeated job logs and long tracebacks. */
export const FAILING_STEP_WINDOW_BYTES = 512 * 1024;

interface Line {
  text: string;
  /** What the engine said, without its level/time prefix; undefined for anything a tool printed. */
  engine: string | undefined;
  /** The job an engine line is about (`[job <name>] …`). */
  job: string | undefined;
  /** Part of a command line the engine printed (its first line is an engine line too). */
  command: boolean;
}

const CWLTOOL_PREFIX = /^(?:INFO|WARNING|ERROR|DEBUG|CRITICAL) (.*)$/;
const TOIL_PREFIX = /^\[\d{4}-\d\d-\d\dT[^\]]*\] \[[^\]]*\] \[[A-Z]\] \[[^\]]*\] ?(.*)$/;
const JOB_LINE = /^\[job (.+?)\] ?(.*)$/;
const TOIL_BLOCK_START = '=========>';
const TOIL_BLOCK_END = '<=========';
const FAILED = /^completed (?:permanentFail|temporaryFail)\b/;
/** `<working dir>$ <first word of the command>`: the start of a tool's command line. */
const COMMAND = /^\S+\$ (.*)$/;
/** What the engines say about a job once its tool has ended. */
const JOB_STATUS = /^(?:Max memory used|exited with status|Job error|completed )/;
const EXPRESSION_ERROR = /^stderr was: '(.*)'$/;
const STEP_START = /^\[step (.+?)\] start$/;
const TOIL_JOB_START = /^Working on job '[^']*' (\S+)/;
const UUID_SUFFIX = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function classify(lines: readonly string[]): Line[] {
  let inToilBlock = false;
  const classified: Line[] = lines.map((raw) => {
    const trimmed = raw.trimEnd();
    if (trimmed === TOIL_BLOCK_START || trimmed === TOIL_BLOCK_END) {
      inToilBlock = trimmed === TOIL_BLOCK_START;
      return { text: '', engine: trimmed, job: undefined, command: false };
    }
    const text = inToilBlock && trimmed.startsWith('\t') ? trimmed.slice(1) : trimmed;
    const engine = CWLTOOL_PREFIX.exec(text)?.[1] ?? TOIL_PREFIX.exec(text)?.[1];
    const job = engine === undefined ? undefined : JOB_LINE.exec(engine);
    return job === null || job === undefined
      ? { text, engine, job: undefined, command: false }
      : { text, engine: job[2] ?? '', job: job[1], command: false };
  });
  // Every job's command line, however many lines its quoting spans, is the engine's, not a tool's output.
  for (let index = 0; index < classified.length; index++) {
    const line = classified[index];
    const first = line?.job === undefined ? undefined : COMMAND.exec(line.engine ?? '')?.[1];
    if (first === undefined) continue;
    const end = commandEnd(classified, index, first);
    for (let at = index; at <= end; at++) {
      const part = classified[at];
      if (part !== undefined) part.command = true;
    }
    index = end;
  }
  return classified;
}

/** The step as the workflow names it: toil calls it `<workflow file>.<step>.<uuid>`. */
export function stepName(job: string): string {
  const name = job.replace(UUID_SUFFIX, '');
  return /^[^\s/]+?\.cwl\.(.+)$/.exec(name)?.[1] ?? name;
}

/** Where a command line that starts with `first` ends, shell quoting followed over the next lines. */
function commandEnd(lines: readonly Line[], start: number, first: string): number {
  let single = false;
  let double = false;
  for (let index = start; index < lines.length; index++) {
    const text = index === start ? first : (lines[index]?.text ?? '');
    for (let at = 0; at < text.length; at++) {
      const char = text[at];
      if (char === "'" && !double) single = !single;
      else if (char === '"' && !single) double = !double;
      else if (char === '\\' && !single) at++;
    }
    if (!single && !double && !text.endsWith('\\')) return index;
  }
  return lines.length - 1;
}

function jobFailure(lines: readonly Line[], maxLines: number): FailingStep | undefined {
  const failedAt = lines.findIndex((line) => line.job !== undefined && FAILED.test(line.engine ?? ''));
  const job = lines[failedAt]?.job;
  if (job === undefined) return undefined;
  const ofJob = (index: number) => lines[index]?.job === job;

  // The tool's output follows its command line: the last one printed for this job before it failed.
  let outputFrom = 0;
  for (let index = failedAt - 1; index >= 0 && outputFrom === 0; index--) {
    if (ofJob(index) && lines[index]?.command === true) outputFrom = index + 1;
  }
  // The engine's lines about the ended job, and what follows them, are not the tool's.
  let statusAt = failedAt;
  for (let index = failedAt - 1; index >= outputFrom; index--) {
    if (!ofJob(index)) continue;
    if (!JOB_STATUS.test(lines[index]?.engine ?? '')) break;
    statusAt = index;
  }
  const output = lines
    .slice(outputFrom, statusAt)
    .filter((line) => line.engine === undefined && !line.command && line.text.trim().length > 0)
    .map((line) => line.text);
  if (output.length === 0) return undefined;
  return { step: stepName(job), lines: output.slice(-maxLines) };
}

function expressionFailure(lines: readonly Line[]): FailingStep | undefined {
  let errorAt = -1;
  let thrown = '';
  for (let index = lines.length - 1; index >= 0 && errorAt < 0; index--) {
    const match = EXPRESSION_ERROR.exec(lines[index]?.text ?? '');
    if (match !== null && (match[1] ?? '').trim().length > 0) {
      errorAt = index;
      thrown = (match[1] ?? '').trim();
    }
  }
  if (errorAt < 0) return undefined;
  let step: string | undefined;
  for (let index = errorAt - 1; index >= 0 && step === undefined; index--) {
    const engine = lines[index]?.engine ?? '';
    const name = STEP_START.exec(engine)?.[1] ?? TOIL_JOB_START.exec(engine)?.[1];
    if (name !== undefined) step = stepName(name);
  }
  return { step, lines: [thrown] };
}

/**
 * The failing step and its last output lines, from the engine's log lines (colour codes already removed):
 * the first job the engine marked failed, else an expression that threw. Undefined when neither is there
 * or the step printed nothing.
 */
export function findFailingStep(logLines: readonly string[], maxLines = 10): FailingStep | undefined {
  const lines = classify(logLines);
  return jobFailure(lines, maxLines) ?? expressionFailure(lines);
}

/** The same, read from the end of a job's log file; undefined when there is no log. */
export async function readFailingStep(logPath: string, maxLines = 10): Promise<FailingStep | undefined> {
  const lines = await readLastLines(logPath, FAILING_STEP_WINDOW_BYTES);
  return lines === undefined ? undefined : findFailingStep(lines, maxLines);
}
