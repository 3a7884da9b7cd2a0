import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type LoadOptions } from '../../../src/config/index.js';
import { fillSwoTemplate } from '../../support/swo-env.js';

const TOKEN = 'eyJ0eXAiOiJKV1QifQ.c3ludGhldGljLXRlc3QtdG9rZW4tcGF5bG9hZA.c2lnbmF0dXJlLWJ5dGVz';
const dir = mkdtempSync(join(tmpdir(), 'config-unit-'));
let fileCount = 0;

function fileWith(text: string): string {
  const path = join(dir, `env-${++fileCount}`);
  writeFileSync(path, text);
  return path;
}

/** The smallest valid configuration, as environment variables. */
const MINIMAL = {
  SYNAPSE_PAT: TOKEN,
  EVALUATION_TEMPLATES: '{"9614045":"syn123"}',
  WORKFLOW_OUTPUT_ROOT_ENTITY_ID: 'syn99',
  DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
};

const probes: Pick<LoadOptions, 'hostIdentity' | 'isDirectory'> = {
  hostIdentity: () => 'machine-a',
  isDirectory: () => false,
};

function load(env: Record<string, string | undefined>, options: LoadOptions = {}) {
  return loadConfig({ env, envFile: join(dir, 'no-such.env'), ...probes, ...options });
}

function problemsOf(env: Record<string, string | undefined>, options: LoadOptions = {}) {
  try {
    load(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe("SWO's .envTemplate", () => {
  it('filled in with sample values, loads unchanged and means what it meant to SWO', () => {
    const { config, warnings } = load({}, { envFile: fileWith(fillSwoTemplate({ token: TOKEN })) });

    expect(warnings).toEqual([]);
    expect(config.synapse.authToken).toBe(TOKEN);
    expect(config.synapse.username).toBe('challenge_bot');
    expect(config.synapse.endpoint.repoUrl).toBe('https://repo-prod.prod.sagebase.org/repo/v1');
    expect(config.engine).toEqual({
      kind: 'docker',
      url: 'unix:///var/run/docker.sock',
      certPath: '/certs',
      certPathOnHost: undefined,
    });
    expect(config.composeProjectName).toBe('workflow_orchestrator');
    expect(config.queues).toEqual([
      { evaluationId: '9614045', templateEntityId: 'syn123' },
      { evaluationId: '9614046', templateEntityId: 'syn456' },
    ]);
    expect(config.outputRootEntityId).toBe('syn7654321');
    expect(config.workflow.toilCliOptions).toEqual([
      '--defaultMemory',
      '100M',
      '--retryCount',
      '0',
      '--defaultDisk',
      '1G',
    ]);
    // SWO's documented defaults for everything left commented out.
    expect(config.workflow.maxConcurrent).toBe(10);
    expect(config.workflow.privileged).toBe(false);
    expect(config.notifications).toEqual({
      principalId: undefined,
      submitterMask: 31,
      messagesPerMinute: 10,
    });
    expect(config.results).toEqual({ shareImmediately: true, dataUnlockPrincipalId: undefined });
    expect(config.intake.acceptNewSubmissions).toBe(true);
    expect(config.intake.executionStage).toBe('ALL');
    expect(config.workflow.engineImage).toBe('sagebionetworks/synapse-workflow-orchestrator-toil:1.0');
  });

  it('with its optional settings uncommented, honours each of them', () => {
    const text = fillSwoTemplate({
      token: TOKEN,
      optional: {
        DOCKER_CERT_PATH_HOST:
          '/home/ops/.docker/machine/certs # Uncomment if connecting to a remote Docker engine',
        SUBMITTER_NOTIFICATION_MASK: '28',
        NOTIFICATION_PRINCIPAL_ID: '3345678',
        SHARE_RESULTS_IMMEDIATELY: 'false',
        DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID: '3399999',
        WORKFLOW_ENGINE_DOCKER_IMAGE: 'sagebionetworks/synapse-workflow-orchestrator-toil:1.1',
        MAX_CONCURRENT_WORKFLOWS: '4',
        RUN_WORKFLOW_CONTAINER_IN_PRIVILEGED_MODE: 'TRUE',
        ACCEPT_NEW_SUBMISSIONS: 'false',
      },
    });
    const { config } = load({}, { envFile: fileWith(text) });
    expect(config.engine).toMatchObject({
      kind: 'docker',
      certPathOnHost: '/home/ops/.docker/machine/certs',
    });
    expect(config.notifications).toEqual({
      principalId: '3345678',
      submitterMask: 28,
      messagesPerMinute: 10,
    });
    expect(config.results).toEqual({ shareImmediately: false, dataUnlockPrincipalId: '3399999' });
    expect(config.workflow.engineImage).toBe('sagebionetworks/synapse-workflow-orchestrator-toil:1.1');
    expect(config.workflow.maxConcurrent).toBe(4);
    expect(config.workflow.privileged).toBe(true);
    expect(config.intake.acceptNewSubmissions).toBe(false);
  });

  it('as shipped (nothing filled in) is rejected with every missing piece named', () => {
    const error = problemsOf(
      {},
      {
        envFile: fileWith(
          fillSwoTemplate({ token: '' }).replace(
            /^(EVALUATION_TEMPLATES|WORKFLOW_OUTPUT_ROOT_ENTITY_ID)=.*$/gm,
            '$1=',
          ),
        ),
      },
    );
    expect(error.problems.map((p) => p.variable)).toEqual([
      'SYNAPSE_PAT',
      'EVALUATION_TEMPLATES',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID',
    ]);
  });
});

describe('where values come from', () => {
  it('a real environment variable wins over the file', () => {
    const loaded = load(
      { MAX_CONCURRENT_WORKFLOWS: '3' },
      { envFile: fileWith(fillSwoTemplate({ token: TOKEN, optional: { MAX_CONCURRENT_WORKFLOWS: '7' } })) },
    );
    expect(loaded.config.workflow.maxConcurrent).toBe(3);
    expect(loaded.sources.MAX_CONCURRENT_WORKFLOWS).toBe('environment');
    expect(loaded.sources.EVALUATION_TEMPLATES).toBe('env file');
    expect(loaded.sources.POLL_INTERVAL_SECONDS).toBe('default');
  });

  it('empty strings and the literal null mean unset, so the next source is used', () => {
    const file = fileWith(fillSwoTemplate({ token: TOKEN, optional: { MAX_CONCURRENT_WORKFLOWS: '7' } }));
    expect(load({ MAX_CONCURRENT_WORKFLOWS: '' }, { envFile: file }).config.workflow.maxConcurrent).toBe(7);
    expect(load({ MAX_CONCURRENT_WORKFLOWS: 'null' }, { envFile: file }).config.workflow.maxConcurrent).toBe(
      7,
    );
    expect(
      load({ ...MINIMAL, SUBMITTER_NOTIFICATION_MASK: '', NOTIFICATION_PRINCIPAL_ID: 'null' }).config
        .notifications,
    ).toEqual({
      principalId: undefined,
      submitterMask: 31,
      messagesPerMinute: 10,
    });
  });

  it('a missing file named by the operator is an error; the default .env may be absent', () => {
    expect(
      problemsOf(MINIMAL, { envFile: join(dir, 'absent.env'), envFileMustExist: true }).problems[0],
    ).toMatchObject({
      variable: '--env-file',
      message: 'no such file',
    });
    expect(load(MINIMAL).envFile).toBeUndefined();
  });

  it('warns about names in the file that nothing reads, suggesting the likely one', () => {
    const file = fileWith(
      `${fillSwoTemplate({ token: TOKEN })}\nMAX_CONCURENT_WORKFLOWS=3\nROOT_TEMPLATE=wf/main.cwl\n`,
    );
    const { warnings } = load({}, { envFile: file });
    expect(warnings).toEqual([
      {
        variable: 'MAX_CONCURENT_WORKFLOWS',
        message: expect.stringContaining('did you mean MAX_CONCURRENT_WORKFLOWS?') as string,
      },
    ]);
  });
});

describe('the token', () => {
  it('is required for Synapse, and the error says where to get one', () => {
    const error = problemsOf({ ...MINIMAL, SYNAPSE_PAT: undefined });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.variable).toBe('SYNAPSE_PAT');
    expect(error.message).toContain('required to use Synapse at https://repo-prod.prod.sagebase.org');
  });

  it('is required for another Synapse-compatible endpoint too', () => {
    const error = problemsOf({
      ...MINIMAL,
      SYNAPSE_PAT: undefined,
      SYNAPSE_ENDPOINT: 'http://127.0.0.1:8080/repo/v1/',
    });
    expect(error.message).toContain('the Synapse-compatible server at http://127.0.0.1:8080');
  });

  it("SYNAPSE_PASSWORD (Sage's older docs) is accepted as the token, with a deprecation warning", () => {
    const { config, warnings } = load({ ...MINIMAL, SYNAPSE_PAT: undefined, SYNAPSE_PASSWORD: TOKEN });
    expect(config.synapse.authToken).toBe(TOKEN);
    expect(warnings).toEqual([
      { variable: 'SYNAPSE_PASSWORD', message: expect.stringContaining('deprecated') as string },
    ]);
  });

  it('never appears in an error, even when its variable is part of the problem', () => {
    const error = problemsOf({ ...MINIMAL, DOCKERHUB_PASSWORD: TOKEN, MAX_CONCURRENT_WORKFLOWS: '0' });
    expect(error.message).toContain('DOCKERHUB_USERNAME');
    expect(error.message).not.toContain(TOKEN);
  });
});

describe('SYNAPSE_ENDPOINT', () => {
  it('accepts a stack base URL or its /repo/v1 URL and derives the three API bases', () => {
    const { endpoint } = load({
      ...MINIMAL,
      SYNAPSE_ENDPOINT: 'https://repo-staging.prod.sagebase.org/repo/v1',
    }).config.synapse;
    expect(endpoint).toEqual({
      baseUrl: 'https://repo-staging.prod.sagebase.org',
      repoUrl: 'https://repo-staging.prod.sagebase.org/repo/v1',
      fileUrl: 'https://repo-staging.prod.sagebase.org/file/v1',
      authUrl: 'https://repo-staging.prod.sagebase.org/auth/v1',
      isSynapseOrg: true,
    });
    expect(
      load({ ...MINIMAL, SYNAPSE_ENDPOINT: 'http://127.0.0.1:8080' }).config.synapse.endpoint.isSynapseOrg,
    ).toBe(false);
  });

  it('rejects something that is not an http(s) URL', () => {
    expect(problemsOf({ ...MINIMAL, SYNAPSE_ENDPOINT: 'repo-prod' }).problems[0]?.variable).toBe(
      'SYNAPSE_ENDPOINT',
    );
  });
});

describe('EVALUATION_TEMPLATES', () => {
  const messages = (value: string) =>
    problemsOf({ ...MINIMAL, EVALUATION_TEMPLATES: value })
      .problems.filter((p) => p.variable === 'EVALUATION_TEMPLATES')
      .map((p) => p.message);

  it('must be JSON', () => {
    expect(messages('{9614045: syn123}')[0]).toMatch(/^not valid JSON .*expected an object like/);
  });

  it('must be an object, not an array or a string', () => {
    expect(messages('["syn123"]')[0]).toContain('expected a JSON object');
    expect(messages('"syn123"')[0]).toContain('expected a JSON object');
  });

  it('must map at least one queue', () => {
    expect(messages('{}')[0]).toContain('maps no evaluation queue');
  });

  it('names each key that is not an evaluation id and each value that is not a syn id', () => {
    // JSON.parse puts integer-like keys first, so the problems come in that order.
    expect(messages('{"queue-one": "syn1", "9614045": "https://example.org/wf.zip", "9614046": 42}')).toEqual(
      [
        'the template for evaluation "9614045" is "https://example.org/wf.zip"; expected a Synapse entity id string like "syn123"',
        'the template for evaluation "9614046" is 42; expected a Synapse entity id string like "syn123"',
        'key "queue-one" is not an evaluation id (expected digits, like "9614045")',
      ],
    );
  });

  it('forgives case and blanks in syn ids, as SWO does', () => {
    expect(
      load({ ...MINIMAL, EVALUATION_TEMPLATES: '{"1": " SYN42 "}', WORKFLOW_OUTPUT_ROOT_ENTITY_ID: 'SYN7' })
        .config,
    ).toMatchObject({
      queues: [{ evaluationId: '1', templateEntityId: 'syn42' }],
      outputRootEntityId: 'syn7',
    });
  });
});

describe('numbers', () => {
  it.each([
    ['MAX_CONCURRENT_WORKFLOWS', 'ten', 'expected a whole number of 1 or more'],
    ['MAX_CONCURRENT_WORKFLOWS', '0', 'expected a whole number of 1 or more'],
    ['MAX_CONCURRENT_WORKFLOWS', '2.5', 'expected a whole number of 1 or more'],
    ['POLL_INTERVAL_SECONDS', '-5', 'expected a whole number from 1 to 3600'],
    ['SUBMITTER_NOTIFICATION_MASK', '32', 'expected a whole number from 0 to 31'],
    ['SUBMITTER_NOTIFICATION_MASK', '-1', 'expected a whole number from 0 to 31'],
    ['NOTIFICATION_PRINCIPAL_ID', 'team-admins', 'expected a Synapse user or team id (digits, like 3345678)'],
  ])('%s=%s is rejected: %s', (variable, value, message) => {
    expect(problemsOf({ ...MINIMAL, [variable]: value }).problems).toEqual([{ variable, value, message }]);
  });

  it('mask 0 (tell submitters nothing) is allowed', () => {
    expect(load({ ...MINIMAL, SUBMITTER_NOTIFICATION_MASK: '0' }).config.notifications.submitterMask).toBe(0);
  });
});

describe('engine mode', () => {
  it('both DOCKER_ENGINE_URL and WES_ENDPOINT is an error', () => {
    const error = problemsOf({
      ...MINIMAL,
      WES_ENDPOINT: 'http://localhost:8082/ga4gh/wes/v1',
      WES_SHARED_DIR_PROPERTY: '/wes',
    });
    expect(error.problems).toEqual([
      {
        variable: 'DOCKER_ENGINE_URL / WES_ENDPOINT',
        message: expect.stringContaining('both are set') as string,
      },
    ]);
  });

  it('neither is an error', () => {
    expect(problemsOf({ ...MINIMAL, DOCKER_ENGINE_URL: '' }).problems[0]?.message).toContain(
      'neither is set',
    );
  });

  it('WES mode needs the shared directory, and says which Docker-only settings it ignores', () => {
    const wes = {
      ...MINIMAL,
      DOCKER_ENGINE_URL: undefined,
      WES_ENDPOINT: 'http://localhost:8082/ga4gh/wes/v1/',
    };
    expect(problemsOf(wes).problems[0]?.variable).toBe('WES_SHARED_DIR_PROPERTY');
    const loaded = load({ ...wes, WES_SHARED_DIR_PROPERTY: '/srv/wes', RW_VOLUMES: '/data:/data' });
    expect(loaded.config.engine).toEqual({
      kind: 'wes',
      endpoint: 'http://localhost:8082/ga4gh/wes/v1',
      sharedDir: '/srv/wes',
    });
    expect(loaded.warnings.map((w) => w.variable)).toEqual(['RW_VOLUMES']);
  });

  it('rejects an engine URL that is neither a socket nor host:port', () => {
    expect(problemsOf({ ...MINIMAL, DOCKER_ENGINE_URL: '/var/run/docker.sock' }).problems[0]?.message).toBe(
      'expected unix:///path/to/docker.sock or tcp://host:port',
    );
  });

  it('warns when a TCP engine has no TLS certificates', () => {
    const { warnings } = load({
      ...MINIMAL,
      DOCKER_ENGINE_URL: 'tcp://10.0.0.5:2376',
      DOCKER_CERT_PATH: join(dir, 'no-certs'),
    });
    expect(warnings[0]?.message).toContain('without TLS');
  });
});

describe('TOIL_CLI_OPTIONS', () => {
  it.each(['--workDir /tmp', '--WORKDIR=/x', '--noLinkImports', '--linkImports'])(
    'rejects %s, which the orchestrator owns',
    (value) => {
      expect(problemsOf({ ...MINIMAL, TOIL_CLI_OPTIONS: value }).problems[0]).toMatchObject({
        variable: 'TOIL_CLI_OPTIONS',
        message: expect.stringContaining('the orchestrator sets these itself') as string,
      });
    },
  );
});

describe("SWO's bugs are not copied", () => {
  it('ACCEPT_NEW_SUBMISSIONS: unset or true accepts, false drains', () => {
    expect(load(MINIMAL).config.intake.acceptNewSubmissions).toBe(true);
    expect(load({ ...MINIMAL, ACCEPT_NEW_SUBMISSIONS: 'true' }).config.intake.acceptNewSubmissions).toBe(
      true,
    );
    expect(load({ ...MINIMAL, ACCEPT_NEW_SUBMISSIONS: 'false' }).config.intake.acceptNewSubmissions).toBe(
      false,
    );
  });

  it('the default engine image carries a tag; an untagged one draws a warning', () => {
    expect(load(MINIMAL).config.workflow.engineImage).toMatch(/:[\w.-]+$/);
    const { warnings } = load({
      ...MINIMAL,
      WORKFLOW_ENGINE_DOCKER_IMAGE: 'sagebionetworks/synapse-workflow-orchestrator-toil',
    });
    expect(warnings[0]?.message).toContain(':latest');
  });

  it('a boolean that is neither true nor false is an error, not a silent false', () => {
    expect(problemsOf({ ...MINIMAL, SHARE_RESULTS_IMMEDIATELY: 'yes' }).problems).toEqual([
      { variable: 'SHARE_RESULTS_IMMEDIATELY', value: 'yes', message: 'expected true or false' },
    ]);
  });
});

describe('other variables', () => {
  it('EXECUTION_STAGE takes the three stages, in any case', () => {
    expect(load({ ...MINIMAL, EXECUTION_STAGE: 'validation' }).config.intake.executionStage).toBe(
      'VALIDATION',
    );
    expect(problemsOf({ ...MINIMAL, EXECUTION_STAGE: 'SCORING' }).problems[0]?.message).toBe(
      'expected one of ALL, VALIDATION, EXECUTION',
    );
  });

  it('RW_VOLUMES are host:container pairs of absolute paths', () => {
    expect(
      load({ ...MINIMAL, RW_VOLUMES: '/data/in:/in, /data/out:/out' }).config.workflow.rwVolumes,
    ).toEqual([
      { hostPath: '/data/in', containerPath: '/in' },
      { hostPath: '/data/out', containerPath: '/out' },
    ]);
    expect(
      problemsOf({ ...MINIMAL, RW_VOLUMES: 'data:/in,/a:/b:/c' }).problems.map((p) => p.message),
    ).toEqual([
      '"data:/in" is not hostPath:containerPath with two absolute paths',
      '"/a:/b:/c" is not hostPath:containerPath with two absolute paths',
    ]);
  });

  it('Docker Hub credentials come in pairs', () => {
    expect(problemsOf({ ...MINIMAL, DOCKERHUB_USERNAME: 'someone' }).problems[0]?.variable).toBe(
      'DOCKERHUB_PASSWORD',
    );
    expect(
      load({ ...MINIMAL, DOCKERHUB_USERNAME: 'someone', DOCKERHUB_PASSWORD: 'hub-secret' }).config.registries
        .dockerHub,
    ).toEqual({
      username: 'someone',
      password: 'hub-secret',
    });
  });

  it('LOG_LEVEL and LOG_FORMAT', () => {
    expect(load({ ...MINIMAL, LOG_LEVEL: 'DEBUG', LOG_FORMAT: 'pretty' }).config.logging).toEqual({
      level: 'debug',
      format: 'pretty',
    });
    expect(problemsOf({ ...MINIMAL, LOG_FORMAT: 'xml' }).problems[0]?.message).toBe(
      'expected one of json, pretty',
    );
  });
});

describe('ORCHESTRATOR_ID and the work directory', () => {
  it('the default id is stable for one host and compose project, and differs across hosts and projects', () => {
    const id = (host: string, project?: string) =>
      load({ ...MINIMAL, COMPOSE_PROJECT_NAME: project }, { hostIdentity: () => host }).config.orchestratorId;
    expect(id('machine-a', 'challenge')).toBe(id('machine-a', 'challenge'));
    expect(id('machine-a', 'challenge')).toMatch(/^challenge-[0-9a-f]{10}$/);
    expect(id('machine-b', 'challenge')).not.toBe(id('machine-a', 'challenge'));
    expect(id('machine-a', 'other')).not.toBe(id('machine-a', 'challenge'));
    expect(id('machine-a')).toMatch(/^synapse-orchestrator-[0-9a-f]{10}$/);
  });

  it('an explicit id wins, and must be label-safe', () => {
    expect(load({ ...MINIMAL, ORCHESTRATOR_ID: 'eval-host-1' }).config.orchestratorId).toBe('eval-host-1');
    expect(problemsOf({ ...MINIMAL, ORCHESTRATOR_ID: 'has spaces' }).problems[0]?.variable).toBe(
      'ORCHESTRATOR_ID',
    );
  });

  it('the work directory is /shared under compose, else in the home directory, unless set', () => {
    expect(load(MINIMAL, { isDirectory: (p) => p === '/shared' }).config.workDir).toBe('/shared');
    expect(load(MINIMAL).config.workDir).toMatch(/\/\.synapse-orchestrator$/);
    expect(load({ ...MINIMAL, ORCHESTRATOR_WORK_DIR: '/srv/orchestrator' }).config.workDir).toBe(
      '/srv/orchestrator',
    );
    expect(problemsOf({ ...MINIMAL, ORCHESTRATOR_WORK_DIR: 'work' }).problems[0]?.variable).toBe(
      'ORCHESTRATOR_WORK_DIR',
    );
  });
});

describe('all problems at once', () => {
  it('one error lists every problem, each naming its variable and value', () => {
    const error = problemsOf({
      SYNAPSE_PAT: TOKEN,
      EVALUATION_TEMPLATES: 'not json',
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: '12345',
      MAX_CONCURRENT_WORKFLOWS: 'many',
      SUBMITTER_NOTIFICATION_MASK: '64',
      TOIL_CLI_OPTIONS: '--workDir /x',
    });
    expect(error.problems.map((p) => p.variable)).toEqual([
      'EVALUATION_TEMPLATES',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID',
      'TOIL_CLI_OPTIONS',
      'MAX_CONCURRENT_WORKFLOWS',
      'SUBMITTER_NOTIFICATION_MASK',
      'DOCKER_ENGINE_URL / WES_ENDPOINT',
    ]);
    expect(error.message).toMatch(
      /^The configuration \(environment\) has 6 problems:\n {2}- EVALUATION_TEMPLATES = not json: not valid JSON/,
    );
    expect(error.message).toContain(
      '  - MAX_CONCURRENT_WORKFLOWS = many: expected a whole number of 1 or more',
    );
  });
});

describe('values a command sets itself (try, demo)', () => {
  it('win over the environment and the env file, and null unsets a variable the file sets', () => {
    const file = fileWith('NOTIFICATION_PRINCIPAL_ID=3334444\nMAX_CONCURRENT_WORKFLOWS=7\n');
    const { config, sources } = load(
      { ...MINIMAL, WORKFLOW_OUTPUT_ROOT_ENTITY_ID: 'syn99' },
      {
        envFile: file,
        overrides: { WORKFLOW_OUTPUT_ROOT_ENTITY_ID: 'syn5', NOTIFICATION_PRINCIPAL_ID: null },
      },
    );

    expect(config.outputRootEntityId).toBe('syn5');
    expect(sources.WORKFLOW_OUTPUT_ROOT_ENTITY_ID).toBe('command');
    expect(config.notifications.principalId).toBeUndefined();
    expect(config.workflow.maxConcurrent).toBe(7);
  });
});
