/** A readable account of a loaded configuration: every variable, where it came from, and what it means. */
import { redact } from '../logging/redact.js';
import { displayValue } from './display.js';
import type { LoadedConfig } from './load.js';
import { VARIABLE_NAMES, VARIABLES, type Section, type VariableName } from './variables.js';

const MASK_BITS: readonly [number, string][] = [
  [1, 'started'],
  [2, 'completed'],
  [4, 'failed'],
  [8, 'stopped on request'],
  [16, 'timed out'],
];

const STAGE_FLOW = {
  ALL: 'RECEIVED -> EVALUATION_IN_PROGRESS -> ACCEPTED (or INVALID)',
  VALIDATION: 'RECEIVED -> OPEN -> VALIDATED (or INVALID)',
  EXECUTION: 'VALIDATED -> EVALUATION_IN_PROGRESS -> ACCEPTED (or INVALID)',
} as const;

function shownValue(name: VariableName, loaded: LoadedConfig, raw: string | undefined): string {
  if (raw !== undefined) return displayValue(name, raw);
  if (name === 'ORCHESTRATOR_ID') return `${loaded.config.orchestratorId} (derived)`;
  if (name === 'ORCHESTRATOR_WORK_DIR') return `${loaded.config.workDir} (derived)`;
  const fallback = VARIABLES[name].defaultText;
  return fallback === undefined ? '(unset)' : `${fallback} (default)`;
}

export function describeConfig(loaded: LoadedConfig): string {
  const { config } = loaded;
  const lines: string[] = [];
  const width = Math.max(...VARIABLE_NAMES.map((n) => n.length)) + 2;

  let section: Section | undefined;
  for (const name of VARIABLE_NAMES) {
    if (VARIABLES[name].section !== section) {
      section = VARIABLES[name].section;
      lines.push('', section);
    }
    const source = loaded.sources[name] === 'default' ? '' : `  [${loaded.sources[name]}]`;
    lines.push(`  ${name.padEnd(width)}${shownValue(name, loaded, loaded.raw[name])}${source}`);
  }

  const engine =
    config.engine.kind === 'docker'
      ? `Docker engine at ${config.engine.url}, engine image ${config.workflow.engineImage}`
      : `WES server at ${config.engine.endpoint}, shared directory ${config.engine.sharedDir}`;
  const mask = config.notifications.submitterMask;
  const told = MASK_BITS.filter(([bit]) => (mask & bit) !== 0).map(([, what]) => what);
  lines.push(
    '',
    'What this means',
    `  Synapse:        ${config.synapse.endpoint.repoUrl}${config.synapse.authToken === undefined ? '' : ' (token set)'}`,
    `  Workflows run:  ${engine}; at most ${config.workflow.maxConcurrent} at once`,
    ...config.queues.map(
      (q) => `  Queue:          evaluation ${q.evaluationId} runs template ${q.templateEntityId}`,
    ),
    `  Output folders: under ${config.outputRootEntityId}; logs ${
      config.results.shareImmediately ? 'shared with the submitter' : 'kept in the _LOCKED folder'
    }`,
    `  Intake:         ${
      config.intake.acceptNewSubmissions ? 'accepting new submissions' : 'draining (no new submission starts)'
    }, every ${config.intake.pollIntervalSeconds} s, ${STAGE_FLOW[config.intake.executionStage]}`,
    `  Submitters are told when a workflow: ${told.length > 0 ? told.join(', ') : '(nothing: mask is 0)'}`,
    `  Admin messages: ${
      config.notifications.principalId === undefined
        ? "the orchestrator's own account"
        : `principal ${config.notifications.principalId}`
    }`,
    `  This instance:  ${config.orchestratorId}, work directory ${config.workDir}`,
  );
  if (loaded.warnings.length > 0) {
    lines.push('', 'Warnings', ...loaded.warnings.map((w) => `  - ${w.variable} ${w.message}`));
  }
  return lines.join('\n').trimStart();
}

/** The same, as data: the configuration with secrets removed. */
export function configAsJson(loaded: LoadedConfig): unknown {
  return redact({
    config: loaded.config,
    sources: loaded.sources,
    warnings: loaded.warnings,
    envFile: loaded.envFile,
  });
}
