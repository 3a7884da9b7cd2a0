/**
 * `synapse-orchestrator submit`: SWO's submit.sh, for participants too. Submits a file, or a Docker
 * image resolved to its digest at submission time, to an evaluation queue as the SYNAPSE_PAT account.
 */
import type { Command } from 'commander';
import { createDockerClient } from '../engine/docker/client.js';
import { ImageDigestError, resolveImageDigest, type ImageReference } from '../engine/docker/image-digest.js';
import { registryAuthResolver } from '../engine/docker/registry-auth.js';
import { clientFor, printJson, runCommand, write } from './command-runner.js';
import { UsageError } from '../organizer/errors.js';
import { loadPlatformAccess, type PlatformAccess } from '../organizer/platform-access.js';
import { submitFile, submitImage, type SubmitResult } from '../organizer/submit.js';
import type { UserProfile } from '../synapse/types.js';

interface SubmitCommandOptions {
  evaluation?: string;
  dockerImage?: string;
  name?: string;
  project?: string;
  team?: string;
  json?: boolean;
}

function describe(result: SubmitResult): string {
  const { submission, entity, image } = result;
  const lines: string[] = [];
  if (image !== undefined) {
    lines.push(
      `Resolved ${image.repository}${image.tag === undefined ? '' : `:${image.tag}`} to ${image.digest}`,
      '',
    );
  }
  lines.push(
    `Submitted to evaluation ${result.evaluation.id} (${JSON.stringify(result.evaluation.name)}) as ${result.submitter.userName} (${result.submitter.ownerId})${result.team === undefined ? '' : ` for team ${JSON.stringify(result.team.name)} (${result.team.id})`}:`,
    '',
    `  submission   ${submission.id}`,
    `  name         ${submission.name ?? ''}`,
  );
  if (result.status !== undefined) lines.push(`  status       ${result.status}`);
  const where = `in ${entity.parentId}${entity.parentName === undefined ? '' : ` (${JSON.stringify(entity.parentName)})`}`;
  if (image === undefined) {
    lines.push(
      `  file         ${entity.id}${entity.versionNumber === undefined ? '' : ` version ${entity.versionNumber}`} ${where}, ${entity.action}`,
    );
  } else {
    lines.push(
      `  repository   ${image.repository} (${entity.id} ${where}${image.managed ? ', managed by Synapse' : `, ${entity.action}`})`,
      `  tag          ${image.tag ?? '(none: submitted by digest)'}`,
      `  digest       ${image.digest}`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** The Docker engine lookup for `submit --docker-image`, with the submitter's registry credentials. */
function digestResolver(access: PlatformAccess) {
  return async (reference: ImageReference, submitter: UserProfile) => {
    let docker;
    try {
      docker = createDockerClient(access.docker.url, access.docker.certPath);
    } catch (error) {
      throw new UsageError(
        `DOCKER_ENGINE_URL (or DOCKER_HOST) ${access.docker.url}: ${(error as Error).message}`,
      );
    }
    const authFor = registryAuthResolver({
      synapseUsername: access.username ?? submitter.userName,
      synapseToken: access.token,
      ...(access.docker.dockerHub === undefined ? {} : { dockerHub: access.docker.dockerHub }),
      dockerConfigPath: access.docker.configFile,
    });
    const auth = authFor(reference.repository);
    try {
      return await resolveImageDigest(
        docker,
        reference.original,
        auth === undefined ? undefined : { ...auth },
      );
    } catch (error) {
      if (!(error instanceof ImageDigestError)) throw error;
      throw new ImageDigestError(
        error.image,
        error.problem,
        `${error.message} (Docker engine ${access.docker.url})`,
        {
          cause: error,
        },
      );
    }
  };
}

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit')
    .description(
      "submit a file, or a Docker image (its tag resolved to a digest now), to an evaluation queue (SWO's submit.sh)",
    )
    .argument('[file]', 'the file to submit (or use --docker-image)')
    .option('--evaluation <id>', 'the evaluation queue to submit to')
    .option(
      '--docker-image <image>',
      'submit this image instead of a file: repository[:tag] (default tag latest) or repository@sha256:<digest>',
    )
    .option('--name <name>', 'the submission name (default: the file name, or repository:tag)')
    .option(
      '--project <synId>',
      'where to store the submitted entity (default: your project "<user name> submissions", made when missing)',
    )
    .option('--team <teamId>', 'submit for this team')
    .option('--json', 'print the result as one JSON object')
    .action(async (file: string | undefined, options: SubmitCommandOptions) => {
      const json = options.json === true;
      process.exitCode = await runCommand('submit', json, async () => {
        if (options.evaluation === undefined) {
          throw new UsageError('--evaluation <id> is required: the evaluation queue to submit to.');
        }
        if ((file === undefined) === (options.dockerImage === undefined)) {
          throw new UsageError(
            file === undefined
              ? 'Give what to submit: a file (submit --evaluation <id> <file>) or an image (--docker-image <repository>[:tag]).'
              : `Give a file (${file}) or --docker-image (${options.dockerImage ?? ''}), not both.`,
          );
        }
        const access = loadPlatformAccess({ envFile: program.opts<{ envFile?: string }>().envFile });
        const client = clientFor(access);
        const common = {
          evaluationId: options.evaluation,
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.project === undefined ? {} : { projectId: options.project }),
          ...(options.team === undefined ? {} : { teamId: options.team }),
        };
        const result =
          file === undefined
            ? await submitImage(client, {
                ...common,
                image: options.dockerImage ?? '',
                resolve: digestResolver(access),
              })
            : await submitFile(client, { ...common, file });
        if (json) {
          // The frozen entity bundle is Synapse's business; the rest describes the submission.
          const { entityBundleJSON: _bundle, ...submission } = result.submission;
          printJson({ ok: true, submissionId: submission.id, ...result, submission });
        } else {
          write(describe(result));
        }
      });
    });
}
