/**
 * Renders the variable registry as `.envTemplate` and as `docs/configuration.md`.
 * `npm run generate` writes both files; a unit test fails when either drifts from the registry.
 */
import {
  KNOWN_FOREIGN_VARIABLES,
  VARIABLE_NAMES,
  VARIABLES,
  type Origin,
  type Section,
  type VariableName,
} from './variables.js';

const GENERATED_NOTE =
  'Generated from src/config/variables.ts by `npm run generate`: edit that file, not this one.';

function bySection(): Map<Section, VariableName[]> {
  const groups = new Map<Section, VariableName[]>();
  for (const name of VARIABLE_NAMES) {
    const section = VARIABLES[name].section;
    groups.set(section, [...(groups.get(section) ?? []), name]);
  }
  return groups;
}

export function renderEnvTemplate(): string {
  const lines = [
    '# synapse-orchestrator configuration: copy this file to .env and fill it in.',
    `# ${GENERATED_NOTE}`,
    '# Real environment variables win over this file. An empty value or `null` means "use the default".',
    '# Lines starting with ## describe the variable below them; uncomment a variable to set it.',
  ];
  for (const [section, names] of bySection()) {
    lines.push('', `# --- ${section} ---`);
    for (const name of names) {
      const spec = VARIABLES[name];
      const required = spec.required === 'always' ? ' Required.' : '';
      const fallback = spec.defaultText === undefined ? '' : ` Default: ${spec.defaultText}.`;
      lines.push('', `## ${spec.summary}${required}${fallback}`);
      if (spec.templateValue !== undefined) lines.push(`${name}=${spec.templateValue}`);
      else if (spec.required === 'always') lines.push(`${name}=`);
      else lines.push(`#${name}=`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const ORIGIN_TEXT: Record<Origin, string> = {
  swo: 'SWO',
  'sage-docs': "Sage's older docs",
  new: 'new',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function renderConfigurationDoc(): string {
  const lines = [
    '# Configuration reference',
    '',
    `<!-- ${GENERATED_NOTE} -->`,
    '',
    'The orchestrator reads its settings from environment variables and from an env file (`.env` in the',
    'working directory, or the file named by `--env-file`). For each variable the first value found wins, in',
    'this order: the real environment, the env file, the default. An empty value or the literal `null` counts',
    'as unset, so the next source is used (Docker Compose passes unset variables as empty strings).',
    '',
    '`synapse-orchestrator validate` loads the configuration and prints what it means, or lists every',
    'problem at once (each naming the variable, its value with secrets masked, and what was expected) and',
    'exits with status 2.',
    '',
    'An SWO `.env` file works unchanged. Where SWO had a bug, the variable means what SWO documented:',
    '',
    '- `ACCEPT_NEW_SUBMISSIONS`: unset or `true` accepts new submissions, `false` drains. (SWO stopped intake',
    '  for any non-empty value, `true` included.)',
    '- `WORKFLOW_ENGINE_DOCKER_IMAGE` defaults to a tagged image. (SWO used the untagged name, i.e. `:latest`.)',
    "- `MAX_CONCURRENT_WORKFLOWS` counts only this instance's workflows, not every workflow on the Docker host.",
    '- Booleans accept `true` or `false` in any case; any other word is an error. (SWO read every other',
    '  word, `yes` included, as false.)',
    "- `SYNAPSE_PASSWORD`, the name in Sage's older challenge documentation, is accepted as the token with a",
    '  deprecation warning.',
    '- Problems are found at start-up, all at once, instead of one at a time in the middle of a run.',
    '',
    'Also good to know:',
    '',
    '- A name in the env file that the orchestrator does not read is reported as a warning (with the closest',
    "  variable name, when one is close), except the names SWO's admin helpers read: " +
      KNOWN_FOREIGN_VARIABLES.map((name) => `\`${name}\``).join(', ') +
      '.',
    '- Sizes (`WORKFLOW_MEMORY_LIMIT`, `MAX_LOG_BYTES`, `TEMPLATE_MAX_BYTES`) are a number of bytes or a number',
    '  with `k`, `m`, `g` or `t`, in binary units as Docker reads them (`4g` is 4 GiB).',
    '- Secret values are registered with the log redactor as soon as they are read (see',
    '  [logging.md](logging.md)).',
    '- The default `ORCHESTRATOR_ID` is derived from `/etc/machine-id` when the process can read it, else from',
    '  an identity kept in `<work dir>/state/host-identity` (the host name at the first start), so a',
    '  re-created container keeps its id as long as its work directory (the compose volume) stays. Setting',
    '  `ORCHESTRATOR_ID` explicitly is still best (see [operations.md](operations.md)).',
    '- WES mode (`WES_ENDPOINT` and `WES_SHARED_DIR_PROPERTY`) hands workflows to a GA4GH WES server such as',
    "  Toil's; see [wes.md](wes.md). The engine container's variables do not apply there.",
  ];
  for (const [section, names] of bySection()) {
    lines.push('', `## ${section}`, '', '| Variable | Default | From | What it does |', '|---|---|---|---|');
    for (const name of names) {
      const spec = VARIABLES[name];
      const fallback =
        spec.required === 'always'
          ? 'required'
          : spec.defaultText === undefined
            ? 'unset'
            : `\`${spec.defaultText}\``;
      const secret = spec.secret === true ? ' Secret: masked in all output.' : '';
      lines.push(
        `| \`${name}\` | ${cell(fallback)} | ${ORIGIN_TEXT[spec.origin]} | ${cell(spec.summary)}${secret} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
