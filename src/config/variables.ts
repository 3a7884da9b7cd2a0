/**
 * Every configuration variable the orchestrator reads, in one place.
 *
 * This registry is the configuration's single source of truth: the zod schema the loader validates with,
 * the generated `.envTemplate`, and `docs/configuration.md` all come from it. SWO's variables keep their
 * names, defaults and meaning (swo-spec §1.2) except where SWO had a bug, which the summary notes.
 */
import { z } from 'zod';
import {
  Rejection,
  absolutePath,
  absolutePathWithDefault,
  boolean,
  byteSize,
  byteSizeWithDefault,
  httpUrl,
  integerWithDefault,
  normaliseSynId,
  oneOf,
  optionalText,
  parser,
  positiveNumber,
  principalId,
  synapseId,
  type ValueParser,
} from './parsers.js';
import type { QueueTemplate, VolumeBinding } from './config.js';

export type Section =
  | 'Synapse account and endpoint'
  | 'Evaluation queues and output'
  | 'Workflow engine'
  | 'Participant and admin notifications'
  | 'Intake'
  | 'Several instances'
  | 'Registry credentials'
  | 'This instance';

/** Where a variable comes from: SWO itself, Sage's older challenge documentation, or this project. */
export type Origin = 'swo' | 'sage-docs' | 'new';

export interface VariableSpec<T = unknown> {
  section: Section;
  origin: Origin;
  /** One line on what the variable does (the .envTemplate comment). */
  summary: string;
  /** The default in words, for the template and the docs; absent when unset is the default. */
  defaultText?: string;
  /** Secrets are masked in every summary and error, and registered with the log redactor. */
  secret?: boolean;
  /** Required variables appear uncommented (to be filled in) in the generated .envTemplate. */
  required?: 'always' | 'conditional';
  /** A value to show uncommented in .envTemplate (SWO's template does this for a few variables). */
  templateValue?: string;
  parse: ValueParser<T>;
}

export const DEFAULT_SYNAPSE_ENDPOINT = 'https://repo-prod.prod.sagebase.org';
export const DEFAULT_ENGINE_IMAGE = 'sagebionetworks/synapse-workflow-orchestrator-toil:1.0';
export const TOIL_OPTIONS_OWNED_BY_ORCHESTRATOR = ['workdir', 'linkimports'] as const;

const TEMPLATE_EXAMPLE = '{"9614045": "syn123", "9614046": "syn456"}';

const evaluationTemplates = parser<QueueTemplate[] | undefined>((raw) => {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return new Rejection(
      `not valid JSON (${(error as Error).message}); expected an object like ${TEMPLATE_EXAMPLE}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new Rejection(
      `expected a JSON object mapping evaluation ids to template entity ids, like ${TEMPLATE_EXAMPLE}`,
    );
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) {
    return new Rejection(`maps no evaluation queue; add at least one, like ${TEMPLATE_EXAMPLE}`);
  }
  const reasons: string[] = [];
  const queues: QueueTemplate[] = [];
  for (const [key, value] of entries) {
    const evaluationId = key.trim();
    if (!/^\d+$/.test(evaluationId)) {
      reasons.push(`key ${JSON.stringify(key)} is not an evaluation id (expected digits, like "9614045")`);
    }
    const templateEntityId = typeof value === 'string' ? normaliseSynId(value) : undefined;
    if (templateEntityId === undefined) {
      reasons.push(
        `the template for evaluation ${JSON.stringify(key)} is ${JSON.stringify(value)}; expected a Synapse entity id string like "syn123"`,
      );
    }
    if (templateEntityId !== undefined) queues.push({ evaluationId, templateEntityId });
  }
  return reasons.length > 0 ? new Rejection(...reasons) : queues;
});

const synapseEndpoint = parser((raw) => {
  const url = httpUrl().safeParse(raw ?? DEFAULT_SYNAPSE_ENDPOINT);
  if (!url.success || url.data === undefined) {
    return new Rejection(
      'expected the http(s) base URL of a Synapse stack, like https://repo-prod.prod.sagebase.org',
    );
  }
  // Accept the repo API URL too (…/repo/v1), which is what people copy from Synapse's docs.
  return url.data.replace(/\/repo\/v1$/, '');
});

const toilCliOptions = parser((raw) => {
  const options = (raw ?? '').split(/\s+/).filter((word) => word.length > 0);
  const lower = (raw ?? '').toLowerCase();
  const owned = TOIL_OPTIONS_OWNED_BY_ORCHESTRATOR.filter((name) => lower.includes(name));
  if (owned.length > 0) {
    return new Rejection(
      `must not set ${owned.map((name) => (name === 'workdir' ? '--workDir' : '--[no]LinkImports')).join(' or ')}: the orchestrator sets these itself`,
    );
  }
  return options;
});

const rwVolumes = parser<VolumeBinding[]>((raw) => {
  if (raw === undefined) return [];
  const reasons: string[] = [];
  const volumes: VolumeBinding[] = [];
  for (const pair of raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const parts = pair.split(':');
    const [hostPath, containerPath] = parts;
    if (parts.length !== 2 || !hostPath?.startsWith('/') || !containerPath?.startsWith('/')) {
      reasons.push(`${JSON.stringify(pair)} is not hostPath:containerPath with two absolute paths`);
      continue;
    }
    volumes.push({ hostPath, containerPath });
  }
  return reasons.length > 0 ? new Rejection(...reasons) : volumes;
});

const dockerEngineUrl = parser((raw) => {
  if (raw === undefined) return undefined;
  if (/^unix:\/\/\/.+/i.test(raw)) return raw;
  if (/^(tcp|http|https):\/\/[^/:]+(:\d+)?\/?$/i.test(raw)) return raw;
  return new Rejection('expected unix:///path/to/docker.sock or tcp://host:port');
});

// Docker Compose v2's rule for project names; the shared volume is named <project>_shared.
const composeProjectName = parser((raw) => {
  if (raw === undefined) return undefined;
  return /^[a-z0-9][a-z0-9_-]*$/.test(raw)
    ? raw
    : new Rejection(
        'expected lowercase letters, digits, dashes and underscores, starting with a letter or digit',
      );
});

const orchestratorId = parser((raw) => {
  if (raw === undefined) return undefined;
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(raw)
    ? raw
    : new Rejection(
        'expected 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit',
      );
});

// Loose check of a Docker image reference: [registry/]repo[:tag][@sha256:digest], no whitespace.
const imageReference = parser((raw) => {
  const image = raw ?? DEFAULT_ENGINE_IMAGE;
  return /^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$/i.test(image) && !image.includes('//')
    ? image
    : new Rejection(
        'expected a Docker image reference like repository/name:tag or repository/name@sha256:<digest>',
      );
});

const variableSpecs = {
  // --- Synapse account and endpoint
  SYNAPSE_ENDPOINT: {
    section: 'Synapse account and endpoint',
    origin: 'new',
    summary:
      'Base URL of the Synapse stack to use (its APIs live under /repo/v1, /file/v1 and /auth/v1); point it at another stack or at a local platform.',
    defaultText: DEFAULT_SYNAPSE_ENDPOINT,
    parse: synapseEndpoint,
  },
  SYNAPSE_USERNAME: {
    section: 'Synapse account and endpoint',
    origin: 'swo',
    summary:
      "User name written into the credentials file each workflow gets (unset: the token's own user name); also the user for docker.synapse.org pulls, which go without credentials when it is unset.",
    parse: optionalText(),
  },
  SYNAPSE_PAT: {
    section: 'Synapse account and endpoint',
    origin: 'swo',
    summary:
      'Personal access token of the account with admin access to the queues and the output folder (view, modify, download).',
    secret: true,
    required: 'always',
    parse: optionalText(),
  },
  SYNAPSE_PASSWORD: {
    section: 'Synapse account and endpoint',
    origin: 'sage-docs',
    summary:
      "Deprecated name for SYNAPSE_PAT from Sage's older documentation; used as the token when SYNAPSE_PAT is unset.",
    secret: true,
    parse: optionalText(),
  },

  // --- Evaluation queues and output
  EVALUATION_TEMPLATES: {
    section: 'Evaluation queues and output',
    origin: 'swo',
    summary: `JSON object mapping each evaluation queue id to the Synapse id of its workflow template entity, e.g. ${TEMPLATE_EXAMPLE}.`,
    required: 'always',
    parse: evaluationTemplates,
  },
  WORKFLOW_OUTPUT_ROOT_ENTITY_ID: {
    section: 'Evaluation queues and output',
    origin: 'swo',
    summary:
      'Synapse id of the project or folder under which each submitter gets a folder for logs and results.',
    required: 'always',
    parse: synapseId(),
  },

  // --- Workflow engine
  DOCKER_ENGINE_URL: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'Docker engine that runs the workflows (Docker mode). Set this or WES_ENDPOINT, not both.',
    required: 'conditional',
    templateValue: 'unix:///var/run/docker.sock',
    parse: dockerEngineUrl,
  },
  DOCKER_CERT_PATH: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'Directory with key.pem, cert.pem and ca.pem for reaching a TCP Docker engine over TLS.',
    defaultText: '/certs',
    parse: absolutePathWithDefault('/certs'),
  },
  DOCKER_CERT_PATH_HOST: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'Host directory of those certificates; mounted read-only into each workflow engine container.',
    parse: absolutePath(),
  },
  WES_ENDPOINT: {
    section: 'Workflow engine',
    origin: 'swo',
    summary:
      'GA4GH WES server that runs the workflows (WES mode; see docs/wes.md), e.g. http://toil:8080/ga4gh/wes/v1. Set this or DOCKER_ENGINE_URL, not both.',
    required: 'conditional',
    parse: httpUrl(),
  },
  WES_SHARED_DIR_PROPERTY: {
    section: 'Workflow engine',
    origin: 'swo',
    summary:
      "Directory shared with the WES server, at the same path on both sides (required in WES mode); each run's job directory and credentials file go in its jobs/<ORCHESTRATOR_ID>/ folder.",
    required: 'conditional',
    parse: absolutePath(),
  },
  COMPOSE_PROJECT_NAME: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'Docker Compose project name; the job directories live in its volume <name>_shared.',
    templateValue: 'workflow_orchestrator',
    parse: composeProjectName,
  },
  TOIL_CLI_OPTIONS: {
    section: 'Workflow engine',
    origin: 'swo',
    summary:
      'Extra options for toil-cwl-runner (memory, disk, retries); --workDir and --LinkImports are not allowed.',
    templateValue: '--defaultMemory 100M --retryCount 0 --defaultDisk 1G',
    parse: toilCliOptions,
  },
  WORKFLOW_ENGINE_DOCKER_IMAGE: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'Image of the workflow engine container (SWO left the tag off; the default here pins it).',
    defaultText: DEFAULT_ENGINE_IMAGE,
    parse: imageReference,
  },
  RUN_WORKFLOW_CONTAINER_IN_PRIVILEGED_MODE: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: 'true runs the workflow engine container privileged; avoid unless the workflow needs it.',
    defaultText: 'false',
    parse: boolean(false),
  },
  MAX_CONCURRENT_WORKFLOWS: {
    section: 'Workflow engine',
    origin: 'swo',
    summary: "Most workflows this instance runs at once (other instances' jobs are not counted).",
    defaultText: '10',
    parse: integerWithDefault(10, { min: 1 }),
  },
  RW_VOLUMES: {
    section: 'Workflow engine',
    origin: 'swo',
    summary:
      'Comma-separated hostPath:containerPath pairs mounted read-write into each workflow engine container.',
    parse: rwVolumes,
  },

  WORKFLOW_ENGINE_COMMAND: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      "CWL runner the engine image runs: toil-cwl-runner (SWO's command) or cwltool. TOIL_CLI_OPTIONS are passed to either.",
    defaultText: 'toil-cwl-runner',
    parse: oneOf(['toil-cwl-runner', 'cwltool'], 'toil-cwl-runner'),
  },
  MAX_RUNTIME_SECONDS: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      'Longest a workflow may run before it is stopped and its submission marked INVALID (timed out). Also ends a runner that hangs.',
    defaultText: '86400 (one day)',
    parse: integerWithDefault(86_400, { min: 1 }),
  },
  WORKFLOW_MEMORY_LIMIT: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      'Memory limit of the workflow engine container, e.g. 4g; beyond it the workflow ends INVALID (out of memory). Unset: no limit.',
    parse: byteSize(),
  },
  WORKFLOW_CPU_LIMIT: {
    section: 'Workflow engine',
    origin: 'new',
    summary: 'CPUs the workflow engine container may use, e.g. 2 or 0.5. Unset: no limit.',
    parse: positiveNumber(),
  },
  WORKFLOW_PIDS_LIMIT: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      "Most processes and threads the workflow engine container may hold; a fork bomb stops there instead of starving the host. cwltool uses a few dozen, toil about 20 per job it runs at once. Step containers are started by the engine, not by the orchestrator, and get Docker's defaults. 0: no limit.",
    defaultText: '1024',
    parse: integerWithDefault(1024, { min: 0 }),
  },
  IMAGE_PULL_POLICY: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      'When to pull the engine image: missing (only when not present), always (every job, like SWO), never.',
    defaultText: 'missing',
    parse: oneOf(['missing', 'always', 'never'], 'missing'),
  },
  ORCHESTRATOR_WORK_DIR_ON_HOST: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      "The Docker host's path of ORCHESTRATOR_WORK_DIR, when the orchestrator runs in a container outside compose. Unset: the compose volume <COMPOSE_PROJECT_NAME>_shared, or the work directory itself.",
    parse: absolutePath(),
  },
  KEEP_FAILED_JOB_DIRS: {
    section: 'Workflow engine',
    origin: 'new',
    summary:
      'true keeps the job directory of a failed workflow for inspection (the credentials file is deleted anyway).',
    defaultText: 'false',
    parse: boolean(false),
  },
  TEMPLATE_MAX_BYTES: {
    section: 'Workflow engine',
    origin: 'new',
    summary: 'Largest workflow template archive accepted, downloaded or unpacked, e.g. 200m.',
    defaultText: '200m',
    parse: byteSizeWithDefault(200 * 1024 ** 2),
  },
  TEMPLATE_MAX_ENTRIES: {
    section: 'Workflow engine',
    origin: 'new',
    summary: 'Most files and directories a workflow template archive may hold.',
    defaultText: '10000',
    parse: integerWithDefault(10_000, { min: 1 }),
  },

  // --- Notifications and results
  NOTIFICATION_PRINCIPAL_ID: {
    section: 'Participant and admin notifications',
    origin: 'swo',
    summary: "User or team id told about pipeline problems; unset means the orchestrator's own account.",
    parse: principalId(),
  },
  SUBMITTER_NOTIFICATION_MASK: {
    section: 'Participant and admin notifications',
    origin: 'swo',
    summary:
      'Which messages submitters get, as a sum: 1 started, 2 completed, 4 failed, 8 stopped on request, 16 timed out.',
    defaultText: '31',
    parse: integerWithDefault(31, { min: 0, max: 31 }),
  },
  MESSAGES_PER_MINUTE: {
    section: 'Participant and admin notifications',
    origin: 'new',
    summary:
      "Messages this account may send a minute; Synapse allows 10, shared by every instance using the account. Raise it only where the platform allows more (the local platform's --messages-per-minute).",
    defaultText: '10',
    parse: integerWithDefault(10, { min: 1, max: 10000 }),
  },
  SHARE_RESULTS_IMMEDIATELY: {
    section: 'Participant and admin notifications',
    origin: 'swo',
    summary:
      'true puts logs where the submitter can read them; false keeps them in the _LOCKED folder and out of messages.',
    defaultText: 'true',
    parse: boolean(true),
  },
  DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID: {
    section: 'Participant and admin notifications',
    origin: 'swo',
    summary:
      "User or team id allowed to release locked results (read, create, update on each submitter's _LOCKED folder).",
    parse: principalId(),
  },

  LOG_UPLOAD_INTERVAL_SECONDS: {
    section: 'Participant and admin notifications',
    origin: 'new',
    summary:
      "Seconds between uploads of a running workflow's log (SWO: 30 minutes); the first comes once it has run 30 seconds (or this long, when shorter), and the log is uploaded again when it ends.",
    defaultText: '300',
    parse: integerWithDefault(300, { min: 1 }),
  },
  MAX_LOG_BYTES: {
    section: 'Participant and admin notifications',
    origin: 'new',
    summary:
      'Largest log uploaded, e.g. 10m; a longer log keeps its head and tail with a marker of what was cut (the middle is not kept anywhere once the job directory is removed).',
    defaultText: '10m',
    parse: byteSizeWithDefault(10 * 1024 ** 2, 1024),
  },

  // --- Intake
  ACCEPT_NEW_SUBMISSIONS: {
    section: 'Intake',
    origin: 'swo',
    summary:
      'false drains: running workflows finish, no new submission starts. (SWO stopped intake for any value.)',
    defaultText: 'true',
    parse: boolean(true),
  },
  EXECUTION_STAGE: {
    section: 'Intake',
    origin: 'swo',
    summary:
      'ALL: RECEIVED→EVALUATION_IN_PROGRESS→ACCEPTED; VALIDATION: RECEIVED→OPEN→VALIDATED; EXECUTION: VALIDATED→EVALUATION_IN_PROGRESS→ACCEPTED.',
    defaultText: 'ALL',
    parse: oneOf(['ALL', 'VALIDATION', 'EXECUTION'], 'ALL'),
  },
  POLL_INTERVAL_SECONDS: {
    section: 'Intake',
    origin: 'new',
    summary: 'Seconds between two looks at the queues.',
    defaultText: '10',
    parse: integerWithDefault(10, { min: 1, max: 3600 }),
  },

  // --- Several instances
  STALE_INSTANCE_SECONDS: {
    section: 'Several instances',
    origin: 'new',
    summary:
      'Another instance whose running submissions were not updated for this long is reported to the admin as stopped (running jobs are updated at least every 5 minutes).',
    defaultText: '1800',
    parse: integerWithDefault(1800, { min: 600 }),
  },
  RECLAIM_STALE_SUBMISSIONS: {
    section: 'Several instances',
    origin: 'new',
    summary:
      "true returns a stopped instance's running submissions to the queue, so a live one runs them again. Only where a stopped instance's containers cannot still be running.",
    defaultText: 'false',
    parse: boolean(false),
  },

  // --- Registry credentials
  DOCKERHUB_USERNAME: {
    section: 'Registry credentials',
    origin: 'swo',
    summary: 'Docker Hub user for pulling images from registries other than docker.synapse.org.',
    parse: optionalText(),
  },
  DOCKERHUB_PASSWORD: {
    section: 'Registry credentials',
    origin: 'swo',
    summary: 'Password or access token for DOCKERHUB_USERNAME.',
    secret: true,
    parse: optionalText(),
  },
  DOCKER_CONFIG_FILE: {
    section: 'Registry credentials',
    origin: 'new',
    summary:
      'A Docker config.json whose "auths" give credentials for other registries (ghcr.io, quay.io, a private one).',
    parse: absolutePath(),
  },

  // --- This instance
  ORCHESTRATOR_ID: {
    section: 'This instance',
    origin: 'new',
    summary:
      'Name of this instance, put on its containers and submissions so several instances can share a queue or a Docker host.',
    defaultText: '<COMPOSE_PROJECT_NAME>-<hash of the host machine id>',
    parse: orchestratorId,
  },
  ORCHESTRATOR_WORK_DIR: {
    section: 'This instance',
    origin: 'new',
    summary: 'Directory for job directories and state, as this process sees it.',
    defaultText: '/shared if it exists (the compose volume), else ~/.synapse-orchestrator',
    parse: absolutePath(),
  },
  STATUS_PORT: {
    section: 'This instance',
    origin: 'new',
    summary:
      'TCP port of the status HTTP server: /healthz, /readyz, /metrics (Prometheus), /status.json and the status page. 0 turns it off.',
    defaultText: '8484',
    parse: integerWithDefault(8484, { min: 0, max: 65535 }),
  },
  STATUS_BIND_ADDRESS: {
    section: 'This instance',
    origin: 'new',
    summary:
      'Address the status HTTP server listens on: loopback by default; 0.0.0.0 to reach it from outside (compose sets this inside the container and publishes the port on the host loopback).',
    defaultText: '127.0.0.1',
    parse: parser((raw) => {
      const value = (raw ?? '127.0.0.1').trim();
      return /^[0-9a-fA-F.:]+$|^localhost$/.test(value)
        ? value
        : new Rejection('expected an IP address to listen on, like 127.0.0.1 or 0.0.0.0');
    }),
  },
  LOG_LEVEL: {
    section: 'This instance',
    origin: 'new',
    summary: 'Least severe log level written: error, warn, info or debug.',
    defaultText: 'info',
    parse: oneOf(['error', 'warn', 'info', 'debug'], 'info'),
  },
  LOG_FORMAT: {
    section: 'This instance',
    origin: 'new',
    summary: 'json: one JSON object per line (for log collectors); pretty: readable lines for a terminal.',
    defaultText: 'json',
    parse: oneOf(['json', 'pretty'], 'json'),
  },
} satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof variableSpecs;

/** The registry, typed by name. */
export const VARIABLES: {
  readonly [K in VariableName]: VariableSpec<z.output<(typeof variableSpecs)[K]['parse']>>;
} = variableSpecs;

export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

/** The one schema: every variable's raw text in, every variable's typed value out. */
export const configSchema = z.object(
  Object.fromEntries(VARIABLE_NAMES.map((name) => [name, VARIABLES[name].parse])) as {
    [K in VariableName]: (typeof variableSpecs)[K]['parse'];
  },
);

export type ParsedVariables = z.output<typeof configSchema>;

export const SECRET_VARIABLES: readonly VariableName[] = VARIABLE_NAMES.filter(
  (name) => VARIABLES[name].secret === true,
);

/**
 * Names read by SWO's admin helpers or fixed inside SWO; they may sit in an SWO `.env` file without being a
 * typo, so the loader does not warn about them.
 */
export const KNOWN_FOREIGN_VARIABLES: readonly string[] = [
  'WORKFLOW_TEMPLATE_URL',
  'ROOT_TEMPLATE',
  'EVALUATION_ID',
  'AGENT_SHARED_DIR_PROPERTY',
];
