/**
 * Does a workflow accept the job the orchestrator gives it? Reads the inputs a CWL document declares
 * (YAML or JSON; inputs as a map or a list; packed `$graph` documents) and compares them with SWO's five
 * job inputs (job-directory.ts writes them).
 *
 * What the engine does, checked with cwltool 3.1 and toil-cwl-runner (the engine images):
 * - a required input missing from the job stops the run: "Missing required input parameter 'x'";
 * - a job value of the wrong type stops it: submissionId (a YAML integer) for a `string` input gives
 *   "the `submissionId` field is not valid because the value is not string";
 * - a job value the workflow does not declare is ignored (the run succeeds), so an undeclared input is
 *   only worth a warning.
 *
 * Pure: no file system, no network.
 */
import { parse as parseYaml } from 'yaml';

/** The kind of value the job file holds for an input. */
export type JobValueKind = 'int' | 'string' | 'File';

export interface OrchestratorInput {
  name: string;
  kind: JobValueKind;
  /** What the value is, for messages. */
  what: string;
}

/** SWO's job inputs, in the order its documentation lists them. */
export const ORCHESTRATOR_INPUTS: readonly OrchestratorInput[] = [
  { name: 'submissionId', kind: 'int', what: 'the submission id, an integer' },
  { name: 'adminUploadSynId', kind: 'string', what: "the id of the submission's _LOCKED folder" },
  { name: 'submitterUploadSynId', kind: 'string', what: "the id of the submission's shared folder" },
  { name: 'workflowSynapseId', kind: 'string', what: 'the id of the template entity' },
  { name: 'synapseConfig', kind: 'File', what: 'the credentials file, a File' },
];

/** A CWL type, reduced to what matters here. */
export type CwlType =
  | { kind: 'named'; name: string }
  | { kind: 'union'; members: CwlType[] }
  | { kind: 'array'; items: CwlType }
  | { kind: 'enum' }
  | { kind: 'record' }
  /** Something this module cannot read: a type defined elsewhere, an `$import`, a malformed value. */
  | { kind: 'unknown'; text: string };

export interface DeclaredInput {
  name: string;
  type: CwlType;
  /** The type as CWL would write it: `int?`, `string[]`, `[int, string]`. */
  typeText: string;
  /** It has a default, or accepts null: the job may leave it out. */
  optional: boolean;
}

export type FindingKind =
  /** The document cannot be read as a CWL process. */
  | 'unreadable'
  /** A required input the orchestrator does not pass: the engine stops. */
  | 'required-not-passed'
  /** An input the orchestrator passes, declared with a type that rejects the value: the engine stops. */
  | 'incompatible-type'
  /** An input the orchestrator passes that the workflow does not declare: the engine ignores it. */
  | 'not-declared'
  /** A type this module cannot judge. */
  | 'unknown-type';

export interface InputFinding {
  kind: FindingKind;
  severity: 'problem' | 'warning';
  /** The input concerned, when there is one. */
  input?: string;
  /** What is wrong, one sentence. */
  message: string;
  /** What to change, one sentence. */
  fix: string;
}

export interface InputsReport {
  /** Workflow, CommandLineTool, ExpressionTool…; undefined when the document could not be read. */
  processClass: string | undefined;
  declared: DeclaredInput[];
  findings: InputFinding[];
}

export interface InspectOptions {
  /** The file's name for messages (ROOT_TEMPLATE). */
  file: string;
  /** The process to use in a packed document (what follows '#' in ROOT_TEMPLATE); default `main`. */
  fragment?: string;
}

const PROCESS_CLASSES = new Set(['Workflow', 'CommandLineTool', 'ExpressionTool', 'Operation']);
const NUMERIC = new Set(['int', 'long', 'float', 'double']);
const KNOWN_NAMED = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'string',
  'File',
  'Directory',
  'Any',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A type as written in CWL (string with `?`/`[]` sugar, list = union, object = array/enum/record). */
export function parseType(value: unknown): CwlType {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.endsWith('?')) {
      return { kind: 'union', members: [{ kind: 'named', name: 'null' }, parseType(text.slice(0, -1))] };
    }
    if (text.endsWith('[]')) return { kind: 'array', items: parseType(text.slice(0, -2)) };
    if (KNOWN_NAMED.has(text)) return { kind: 'named', name: text };
    return { kind: 'unknown', text };
  }
  if (Array.isArray(value)) return { kind: 'union', members: value.map(parseType) };
  if (isRecord(value)) {
    switch (value.type) {
      case 'array':
        return { kind: 'array', items: parseType(value.items) };
      case 'enum':
        return { kind: 'enum' };
      case 'record':
        return { kind: 'record' };
      default:
        return { kind: 'unknown', text: shortText(value) };
    }
  }
  return { kind: 'unknown', text: shortText(value) };
}

export function typeText(type: CwlType): string {
  switch (type.kind) {
    case 'named':
      return type.name;
    case 'array': {
      const items = typeText(type.items);
      return type.items.kind === 'union' ? `{type: array, items: ${items}}` : `${items}[]`;
    }
    case 'enum':
      return 'enum';
    case 'record':
      return 'record';
    case 'unknown':
      return type.text;
    case 'union': {
      const others = type.members.filter((m) => !(m.kind === 'named' && m.name === 'null'));
      const only = others[0];
      if (others.length === 1 && type.members.length === 2 && only !== undefined && only.kind !== 'union') {
        return `${typeText(only)}?`;
      }
      return `[${type.members.map(typeText).join(', ')}]`;
    }
  }
}

/** Whether a value of `kind` fits `type`: yes, no, or this module cannot tell. */
export function accepts(type: CwlType, kind: JobValueKind): 'yes' | 'no' | 'unknown' {
  switch (type.kind) {
    case 'named':
      if (type.name === 'Any') return 'yes';
      if (kind === 'int') return NUMERIC.has(type.name) ? 'yes' : 'no';
      return type.name === kind ? 'yes' : 'no';
    case 'union': {
      const answers = type.members.map((member) => accepts(member, kind));
      if (answers.includes('yes')) return 'yes';
      return answers.includes('unknown') ? 'unknown' : 'no';
    }
    case 'unknown':
      return 'unknown';
    // An array needs a list; an enum's symbols cannot be Synapse ids; a record needs an object.
    case 'array':
    case 'enum':
    case 'record':
      return 'no';
  }
}

function acceptsNull(type: CwlType): boolean {
  if (type.kind === 'named') return type.name === 'null';
  if (type.kind === 'union') return type.members.some(acceptsNull);
  return false;
}

/** `#main/submissionId`, `file.cwl#submissionId`, `submissionId` → `submissionId`. */
function shortId(id: string): string {
  const fragment = id.includes('#') ? id.slice(id.lastIndexOf('#') + 1) : id;
  return fragment.slice(fragment.lastIndexOf('/') + 1);
}

function declaredInput(name: string, entry: unknown): DeclaredInput {
  // Map form: `name: type` or `name: {type: …, default: …}`; list form: `{id: name, type: …}`.
  const body = isRecord(entry) && 'type' in entry ? entry : isRecord(entry) ? undefined : { type: entry };
  const type: CwlType =
    body === undefined ? { kind: 'unknown', text: shortText(entry) } : parseType(body.type);
  const hasDefault = body !== undefined && body.default !== undefined && body.default !== null;
  return { name, type, typeText: typeText(type), optional: hasDefault || acceptsNull(type) };
}

function readInputs(inputs: unknown): DeclaredInput[] | string {
  if (Array.isArray(inputs)) {
    const declared: DeclaredInput[] = [];
    for (const entry of inputs) {
      if (!isRecord(entry) || typeof entry.id !== 'string') return 'an input in its list has no id';
      declared.push(declaredInput(shortId(entry.id), entry));
    }
    return declared;
  }
  if (isRecord(inputs)) {
    if ('$import' in inputs || '$include' in inputs) return 'its inputs come from an $import';
    return Object.entries(inputs).map(([name, entry]) => declaredInput(shortId(name), entry));
  }
  return 'it has no inputs section';
}

/** The process ROOT_TEMPLATE points at: the document, or one entry of a packed `$graph`. */
function selectProcess(
  document: Record<string, unknown>,
  fragment: string | undefined,
): Record<string, unknown> | string {
  const graph = document.$graph;
  if (graph === undefined) return document;
  if (!Array.isArray(graph)) return '$graph is not a list';
  const processes = graph.filter(isRecord);
  const wanted = (fragment ?? 'main').replace(/^#/, '');
  const found = processes.find((p) => typeof p.id === 'string' && p.id.replace(/^.*#/, '') === wanted);
  if (found !== undefined) return found;
  const only = processes[0];
  if (fragment === undefined && processes.length === 1 && only !== undefined) return only;
  const ids = processes.map((p) => (typeof p.id === 'string' ? `#${p.id.replace(/^.*#/, '')}` : '(no id)'));
  return fragment === undefined
    ? `it is a packed document ($graph) without a #main process (it holds ${ids.join(', ')})`
    : `its $graph has no process #${fragment} (it holds ${ids.join(', ')})`;
}

function unreadable(file: string, why: string, fix: string): InputsReport {
  return {
    processClass: undefined,
    declared: [],
    findings: [
      {
        kind: 'unreadable',
        severity: 'problem',
        message: `${file} cannot be read as a CWL workflow: ${why}.`,
        fix,
      },
    ],
  };
}

/** Reads the document's inputs and says what the engine would make of the orchestrator's job. */
export function inspectWorkflowInputs(text: string, options: InspectOptions): InputsReport {
  const { file } = options;
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: false });
  } catch (error) {
    const first = ((error as Error).message.split('\n')[0] ?? '').trim();
    return unreadable(file, `it is not valid YAML or JSON (${first})`, `Fix the syntax of ${file}.`);
  }
  if (!isRecord(document)) {
    return unreadable(
      file,
      'it is not a YAML or JSON object',
      `Point ROOT_TEMPLATE at the workflow's .cwl file.`,
    );
  }
  const process = selectProcess(document, options.fragment);
  if (typeof process === 'string') {
    return unreadable(
      file,
      process,
      `Name the workflow in ROOT_TEMPLATE as ${file}#<id>, or give it the id #main.`,
    );
  }
  const processClass = typeof process.class === 'string' ? process.class : undefined;
  if (processClass === undefined || !PROCESS_CLASSES.has(processClass)) {
    return unreadable(
      file,
      processClass === undefined ? 'it has no class' : `its class is ${processClass}`,
      "Point ROOT_TEMPLATE at the workflow's .cwl file (class: Workflow or CommandLineTool).",
    );
  }
  const declared = readInputs(process.inputs);
  if (typeof declared === 'string') {
    return {
      ...unreadable(file, declared, `Declare the workflow's inputs in ${file} as a list or a map.`),
      processClass,
    };
  }
  return { processClass, declared, findings: compare(file, declared) };
}

function compare(file: string, declared: DeclaredInput[]): InputFinding[] {
  const findings: InputFinding[] = [];
  const byName = new Map(declared.map((input) => [input.name, input]));
  for (const passed of ORCHESTRATOR_INPUTS) {
    const input = byName.get(passed.name);
    if (input === undefined) {
      findings.push({
        kind: 'not-declared',
        severity: 'warning',
        input: passed.name,
        message: `${file} does not declare ${passed.name} (${passed.what}): the engine ignores it, so the workflow cannot use it.`,
        fix: `Declare ${passed.name}: ${passed.kind} in the inputs of ${file} if the workflow needs it.`,
      });
      continue;
    }
    const answer = accepts(input.type, passed.kind);
    if (answer === 'no') {
      findings.push({
        kind: 'incompatible-type',
        severity: 'problem',
        input: passed.name,
        message: `${file} declares ${passed.name} as ${input.typeText}, but the orchestrator passes ${passed.what}: the engine rejects the job ("the ${passed.name} field is not valid").`,
        fix: `Declare ${passed.name} as ${passed.kind} in ${file}.`,
      });
    } else if (answer === 'unknown') {
      findings.push({
        kind: 'unknown-type',
        severity: 'warning',
        input: passed.name,
        message: `${file} declares ${passed.name} as ${input.typeText}, a type this check cannot read; the orchestrator passes ${passed.what}.`,
        fix: `Make sure ${passed.name}'s type accepts a ${passed.kind}, or declare it as ${passed.kind}.`,
      });
    }
  }
  const passedNames = new Set(ORCHESTRATOR_INPUTS.map((input) => input.name));
  for (const input of declared) {
    if (passedNames.has(input.name) || input.optional) continue;
    findings.push({
      kind: 'required-not-passed',
      severity: 'problem',
      input: input.name,
      message: `${file} requires the input ${input.name} (${input.typeText}), which the orchestrator does not pass: the engine stops with "Missing required input parameter '${input.name}'".`,
      fix: `Give ${input.name} a default or make it optional (${optionalText(input)}) in ${file}.`,
    });
  }
  return findings;
}

function optionalText(input: DeclaredInput): string {
  return input.type.kind === 'named' || input.type.kind === 'array'
    ? `${input.typeText}?`
    : `add 'null' to its type`;
}
