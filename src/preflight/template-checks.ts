/**
 * The template side of `validate`: each template entity resolves, its archive downloads and unpacks under
 * the configured limits, ROOT_TEMPLATE is in it, and the workflow accepts the job the orchestrator gives
 * it. Uses the real TemplateCache on a scratch directory the caller removes afterwards.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isEvaluationDocument, parseEvaluation } from '../templates/evaluation-file.js';
import { ORCHESTRATOR_INPUTS, inspectWorkflowInputs, type InputFinding } from './cwl-inputs.js';
import { notChecked, ok, problem, warning, type CheckResult } from './report.js';
import type { Account } from './synapse-checks.js';
import { isTemplateError, type TemplateCache, type TemplateProblem } from '../templates/index.js';
import { SynapseError } from '../synapse/errors.js';

/** Larger than any workflow file; a bigger "workflow" is not read whole. */
const MAX_WORKFLOW_BYTES = 4 * 1024 * 1024;

export function templateCheckName(entityId: string, queues: readonly string[]): string {
  return `Template ${entityId} (queue${queues.length === 1 ? '' : 's'} ${queues.join(', ')})`;
}

function fixFor(problemKind: TemplateProblem, entityId: string, queues: string, account: Account): string {
  switch (problemKind) {
    case 'no-annotations':
    case 'no-root-template':
    case 'root-template-type':
      return `Add a STRING annotation ROOT_TEMPLATE to ${entityId} whose value is the workflow's path inside the archive.`;
    case 'root-not-in-archive':
      return `Set ROOT_TEMPLATE on ${entityId} to the workflow's path inside the archive.`;
    case 'unreadable':
      return `Check the template id ${entityId} given for ${queues} in EVALUATION_TEMPLATES, and grant ${account.label} READ and DOWNLOAD on it.`;
    case 'no-archive':
    case 'several-archives':
      return `Make ${entityId} a File entity holding one workflow archive (zip or tar.gz, uploaded or linked) or a TRS tool URL.`;
    case 'download':
      return `Make the archive of ${entityId} reachable from this machine without logging in (check its URL).`;
    case 'format':
    case 'corrupt':
      return `Replace the file of ${entityId} with a valid zip or tar.gz archive.`;
    case 'unsafe':
      return `Rebuild the archive of ${entityId} without links, devices, absolute paths or '..'.`;
    case 'too-large':
      return `Make the archive of ${entityId} smaller, or raise TEMPLATE_MAX_BYTES or TEMPLATE_MAX_ENTRIES.`;
    case 'trs':
      return `Fix the GA4GH TRS tool version that ${entityId} links to, or link ${entityId} to an archive instead.`;
  }
}

async function readHead(path: string, limit: number): Promise<{ text: string; truncated: boolean }> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    const { bytesRead } = await handle.read(buffer, 0, limit + 1, 0);
    return { text: buffer.toString('utf8', 0, Math.min(bytesRead, limit)), truncated: bytesRead > limit };
  } finally {
    await handle.close();
  }
}

function joinSentences(findings: readonly InputFinding[], pick: (finding: InputFinding) => string): string {
  return [...new Set(findings.map(pick))].join(' ');
}

/** One template entity, used by `queues`: prepared with `cache`, then its workflow's inputs inspected. */
export async function checkTemplate(
  cache: TemplateCache,
  entityId: string,
  queues: readonly string[],
  account: Account,
): Promise<CheckResult> {
  const name = templateCheckName(entityId, queues);
  const queueText = `queue${queues.length === 1 ? '' : 's'} ${queues.join(', ')}`;
  let prepared;
  try {
    prepared = await cache.prepare(entityId);
  } catch (error) {
    if (isTemplateError(error)) {
      const detail = error.message.replace(new RegExp(`^Template ${entityId}: `), '');
      return problem(name, detail, fixFor(error.problem, entityId, queueText, account));
    }
    const reason = error instanceof SynapseError || error instanceof Error ? error.message : String(error);
    return problem(
      name,
      `could not prepare the template: ${reason}`,
      'Run validate again; if it persists, check SYNAPSE_ENDPOINT and the disk space under the temporary directory.',
    );
  }
  const [file = prepared.rootTemplate, fragment] = prepared.rootTemplate.split('#', 2);
  let text: string;
  try {
    const head = await readHead(join(prepared.dir, file), MAX_WORKFLOW_BYTES);
    if (head.truncated) {
      return warning(
        name,
        `${file} is larger than ${MAX_WORKFLOW_BYTES / 1024 / 1024} MiB, so its inputs were not checked`,
        `Make sure ROOT_TEMPLATE on ${entityId} names the workflow's .cwl file.`,
      );
    }
    text = head.text;
  } catch (error) {
    return notChecked(name, `${file} could not be read here (${(error as Error).message})`);
  }
  const evaluation = checkEvaluationFile(name, text, file, `from ${prepared.source}`);
  if (evaluation !== undefined) return evaluation;
  const report = inspectWorkflowInputs(text, { file, ...(fragment === undefined ? {} : { fragment }) });
  const problems = report.findings.filter((finding) => finding.severity === 'problem');
  const warnings = report.findings.filter((finding) => finding.severity === 'warning');
  const where = `from ${prepared.source}`;
  if (problems.length > 0) {
    return problem(
      name,
      joinSentences(problems, (f) => f.message),
      joinSentences(problems, (f) => f.fix),
    );
  }
  const declaredCount = ORCHESTRATOR_INPUTS.length - warnings.filter((f) => f.kind === 'not-declared').length;
  const total = ORCHESTRATOR_INPUTS.length;
  const declares = declaredCount === total ? `the ${total}` : `${declaredCount} of the ${total}`;
  const summary = `${file} (${report.processClass ?? 'CWL'}, ${where}) declares ${declares} inputs the orchestrator passes and requires no other`;
  if (warnings.length > 0) {
    const notDeclared = warnings.filter((f) => f.kind === 'not-declared').map((f) => f.input ?? '');
    const others = warnings.filter((f) => f.kind !== 'not-declared');
    const parts = [
      ...(notDeclared.length > 0
        ? [
            `${file} does not declare ${notDeclared.join(', ')}: the engine ignores ${notDeclared.length === 1 ? 'that input' : 'those inputs'}, so the workflow cannot use ${notDeclared.length === 1 ? 'it' : 'them'}.`,
          ]
        : []),
      ...others.map((f) => f.message),
    ];
    const fixes = [
      ...(notDeclared.length > 0
        ? [
            `Declare ${notDeclared.join(', ')} in the inputs of ${file} if the workflow needs ${notDeclared.length === 1 ? 'it' : 'them'}.`,
          ]
        : []),
      ...others.map((f) => f.fix),
    ];
    return warning(name, `${summary}. ${parts.join(' ')}`, fixes.join(' '));
  }
  return ok(name, summary);
}

/**
 * An evaluation file (Docker-image submissions) instead of a CWL workflow: valid, and its host directories
 * there. Undefined when `text` is not an evaluation file.
 */
function checkEvaluationFile(
  name: string,
  text: string,
  file: string,
  where: string,
): CheckResult | undefined {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch {
    return undefined;
  }
  if (!isEvaluationDocument(document)) return undefined;
  let evaluation;
  try {
    evaluation = parseEvaluation(document, file);
  } catch (error) {
    return problem(
      name,
      (error as Error).message,
      `Fix ${file} as docs/docker-submissions.md describes, and upload the template again.`,
    );
  }
  const missing = [
    ...(evaluation.input === undefined ? [] : [['input', evaluation.input]]),
    ...(evaluation.scoring?.gold === undefined ? [] : [['scoring.gold', evaluation.scoring.gold]]),
  ].filter(([, path]) => !existsSync(path ?? ''));
  const summary = `${file} (${where}) is an evaluation file for Docker-image submissions${evaluation.scoring === undefined ? ', without scoring' : `, scored by ${evaluation.scoring.image}`}`;
  if (missing.length > 0) {
    return warning(
      name,
      `${summary}; ${missing.map(([key, path]) => `${key} ${path}`).join(' and ')} is not on this machine`,
      'The directories are on the Docker host: create them there (this check looks on the machine validate runs on).',
    );
  }
  return ok(name, summary);
}
