/**
 * `synapse-orchestrator setup`: SWO's set_up.sh. Creates (or reuses) a challenge's project, output
 * folder, workflow template and evaluation queue as the SYNAPSE_PAT account, grants submitters and the
 * orchestrator access, and prints the `.env` lines for the orchestrator. Safe to run again.
 */
import { Option, type Command } from 'commander';
import { collect, clientFor, printJson, runCommand, write } from './command-runner.js';
import { UsageError } from '../organizer/errors.js';
import { loadPlatformAccess } from '../organizer/platform-access.js';
import { DEFAULT_OUTPUT_FOLDER, setUpChallenge, type SetupResult } from '../organizer/setup-challenge.js';

interface SetupCommandOptions {
  templateUrl?: string;
  templateFile?: string;
  root?: string;
  name?: string;
  queueName?: string;
  templateName?: string;
  outputFolder?: string;
  submitter: string[];
  orchestrator?: string;
  json?: boolean;
}

function describe(result: SetupResult, endpoint: string): string {
  const rows: [string, string, string, string][] = [
    ['project', result.project.id, JSON.stringify(result.project.name), result.project.action],
    [
      'output folder',
      result.outputFolder.id,
      JSON.stringify(result.outputFolder.name),
      result.outputFolder.action,
    ],
    [
      'template',
      result.template.id,
      `${JSON.stringify(result.template.name)}${result.template.versionNumber === undefined ? '' : ` (version ${result.template.versionNumber})`}`,
      result.template.action,
    ],
    ['queue', result.evaluation.id, JSON.stringify(result.evaluation.name), result.evaluation.action],
  ];
  const width = Math.max(...rows.map((row) => row[2].length));
  const lines = [`Challenge on ${endpoint}, as ${result.account.userName} (${result.account.ownerId}):`, ''];
  for (const [what, id, name, action] of rows) {
    lines.push(`  ${what.padEnd(14)} ${id.padEnd(12)} ${name.padEnd(width)}  ${action}`);
    if (what === 'template') {
      lines.push(
        `  ${''.padEnd(14)} ${''.padEnd(12)} archive ${result.template.source}, ROOT_TEMPLATE=${result.template.rootTemplate}`,
      );
    }
  }
  for (const grant of result.submitters) {
    lines.push(
      `  ${'submitter'.padEnd(14)} ${grant.principal.id.padEnd(12)} ${grant.principal.name} (${grant.principal.kind}) may ${grant.on.map((o) => o.access.join(', ')).join('; ')} on the queue${grant.changed ? '' : ' (already)'}`,
    );
  }
  if (result.orchestrator === undefined) {
    lines.push(
      '',
      `The orchestrator must run as ${result.account.userName} (this SYNAPSE_PAT), which owns all of the above;`,
      'to run it as another account, run setup again with --orchestrator <its user id>.',
    );
  } else {
    const o = result.orchestrator;
    lines.push(
      `  ${'orchestrator'.padEnd(14)} ${o.principal.id.padEnd(12)} ${o.principal.name} (${o.principal.kind}) may ${o.on
        .map((grant) => `${grant.access.join(', ')} on ${grant.id}`)
        .join('; ')}${o.changed ? '' : ' (already)'}`,
      '',
      `Run the orchestrator with ${o.principal.name}'s token as SYNAPSE_PAT.`,
    );
  }
  lines.push('', "Add these lines to the orchestrator's .env:", '', ...result.envLines, '');
  return lines.join('\n');
}

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      "create a challenge's project, output folder, workflow template and evaluation queue (SWO's set_up.sh) and print the orchestrator's .env lines; running it again reuses them",
    )
    .option('--template-url <url>', 'the workflow archive (zip) as a URL, linked like SWO does')
    .option('--template-file <zip>', 'the workflow archive as a file to upload (instead of --template-url)')
    .option(
      '--root <path>',
      'ROOT_TEMPLATE: the workflow file inside the archive, e.g. my-repo-main/workflow.cwl',
    )
    .option(
      '--name <project>',
      'the project (unique on the platform; default "Orchestrator challenge <user> <date>")',
    )
    .option('--queue-name <name>', 'the evaluation queue (unique on the platform; default "<project> queue")')
    .option('--template-name <name>', 'the template entity in the project (default "<queue name> template")')
    .option('--output-folder <name>', `the folder for logs and results (default ${DEFAULT_OUTPUT_FOLDER})`)
    .addOption(
      new Option(
        '--submitter <principalId>',
        'a user or team allowed to submit (repeatable; 273948: every signed-in user)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .option(
      '--orchestrator <userId>',
      'the account the orchestrator runs as, when it is not this one: gets the access it needs',
    )
    .option('--json', 'print the result as one JSON object')
    .action(async (options: SetupCommandOptions) => {
      const json = options.json === true;
      process.exitCode = await runCommand('setup', json, async () => {
        if (options.root === undefined) {
          throw new UsageError(
            "--root is required: the workflow file's path inside the archive (ROOT_TEMPLATE), e.g. my-repo-main/workflow.cwl.",
          );
        }
        const access = loadPlatformAccess({ envFile: program.opts<{ envFile?: string }>().envFile });
        const result = await setUpChallenge(clientFor(access), {
          root: options.root,
          submitters: options.submitter,
          ...(options.templateUrl === undefined ? {} : { templateUrl: options.templateUrl }),
          ...(options.templateFile === undefined ? {} : { templateFile: options.templateFile }),
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
          ...(options.templateName === undefined ? {} : { templateName: options.templateName }),
          ...(options.outputFolder === undefined ? {} : { outputFolder: options.outputFolder }),
          ...(options.orchestrator === undefined ? {} : { orchestrator: options.orchestrator }),
        });
        if (json) printJson({ ok: true, ...result });
        else write(describe(result, access.endpoint.baseUrl));
      });
    });
}
