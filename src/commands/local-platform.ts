/**
 * `synapse-orchestrator local-platform`: serves the embedded Synapse-compatible platform on its own, and
 * `synapse-orchestrator local-admin …`: administers a running one (seed users, queues, templates and
 * submissions; inspect; inject faults).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { LocalPlatformAdmin } from '../local-platform/admin-client.js';
import { startLocalPlatform } from '../local-platform/server.js';
import type { AccessType } from '../synapse/types.js';

export const DEFAULT_LOCAL_PLATFORM_DIR = join(homedir(), '.synapse-orchestrator', 'local-platform');
export const DEFAULT_LOCAL_PLATFORM_PORT = 8780;

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function integerOption(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new Error(`${name} must be a whole number, not ${value}`);
  return number;
}

/** "principalId:READ,SUBMIT" → [principalId, [READ, SUBMIT]] */
function grant(value: string, previous: Record<string, AccessType[]>): Record<string, AccessType[]> {
  const [principal, list] = value.split(':');
  if (principal === undefined || list === undefined || !/^\d+$/.test(principal)) {
    throw new Error(`--grant takes principalId:ACCESS[,ACCESS…], not ${value}`);
  }
  return { ...previous, [principal]: list.split(',') as AccessType[] };
}

export function registerLocalPlatformCommands(program: Command): void {
  program
    .command('local-platform')
    .description(
      'serve the embedded Synapse-compatible platform (for trying things without a Synapse account)',
    )
    .option('--data-dir <dir>', 'where its state lives (kept across restarts)', DEFAULT_LOCAL_PLATFORM_DIR)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', String(DEFAULT_LOCAL_PLATFORM_PORT))
    .option(
      '--object-store-port <port>',
      'port of the object store behind presigned URLs, on the same host (default: --port + 1, so one ' +
        'forwarded pair of ports keeps working across restarts; any free port when --port is 0)',
    )
    .option(
      '--messages-per-minute <n>',
      'messages one account may send a minute, as on Synapse (set MESSAGES_PER_MINUTE to match)',
      '10',
    )
    .action(
      async (options: {
        dataDir: string;
        host: string;
        port: string;
        objectStorePort?: string;
        messagesPerMinute: string;
      }) => {
        const port = integerOption(options.port, '--port');
        const objectStorePort =
          options.objectStorePort === undefined
            ? port === 0
              ? 0
              : port + 1
            : integerOption(options.objectStorePort, '--object-store-port');
        const platform = await startLocalPlatform({
          dataDir: options.dataDir,
          host: options.host,
          port,
          objectStorePort,
          messageLimit: {
            count: integerOption(options.messagesPerMinute, '--messages-per-minute'),
            windowMs: 60_000,
          },
        });
        process.stdout.write(
          `Local platform listening at ${platform.url}\n` +
            `  Synapse APIs: ${platform.url}/repo/v1, /file/v1, /auth/v1 (set SYNAPSE_ENDPOINT=${platform.url})\n` +
            `  Object store: ${platform.objectStoreUrl} (presigned URLs)\n` +
            `  State:        ${options.dataDir}\n` +
            `  Admin token:  in ${join(options.dataDir, 'admin-token')} (for synapse-orchestrator local-admin)\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await platform.close();
      },
    );

  const admin = program
    .command('local-admin')
    .description('administer a running local platform (prints JSON)')
    .option('--url <url>', 'the platform', `http://127.0.0.1:${DEFAULT_LOCAL_PLATFORM_PORT}`)
    .option('--data-dir <dir>', 'its data directory, where the admin token is', DEFAULT_LOCAL_PLATFORM_DIR);
  const client = () => {
    const options = admin.opts<{ url: string; dataDir: string }>();
    const token = readFileSync(join(options.dataDir, 'admin-token'), 'utf8').trim();
    return new LocalPlatformAdmin(options.url, token);
  };

  admin
    .command('create-user <userName>')
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--token <token>', 'use this access token instead of a generated one')
    .action(async (userName: string, o: { firstName?: string; lastName?: string; token?: string }) => {
      print(await client().createUser({ userName, ...o }));
    });
  admin.command('create-team <name> [memberIds...]').action(async (name: string, members: string[]) => {
    print(await client().createTeam(name, members));
  });
  admin
    .command('create-project <name>')
    .requiredOption('--owner <principalId>')
    .action(async (name: string, o: { owner: string }) => {
      print(await client().createProject(name, o.owner));
    });
  admin
    .command('create-folder <name>')
    .requiredOption('--parent <synId>')
    .requiredOption('--owner <principalId>')
    .action(async (name: string, o: { parent: string; owner: string }) => {
      print(await client().createFolder(name, o.parent, o.owner));
    });
  admin
    .command('create-evaluation <name>')
    .requiredOption('--owner <principalId>')
    .option('--content-source <projectId>')
    .option('--grant <principalId:ACCESS,...>', 'give a principal access (repeatable)', grant, {})
    .action(
      async (
        name: string,
        o: { owner: string; contentSource?: string; grant: Record<string, AccessType[]> },
      ) => {
        print(
          await client().createEvaluation({
            name,
            ownerId: o.owner,
            permissions: o.grant,
            ...(o.contentSource === undefined ? {} : { contentSource: o.contentSource }),
          }),
        );
      },
    );
  admin
    .command('create-template <name>')
    .requiredOption('--parent <synId>')
    .requiredOption('--owner <principalId>')
    .option('--root <path>', 'ROOT_TEMPLATE: the workflow inside the archive')
    .option('--archive-url <url>', 'the archive as an external URL')
    .option('--archive <file>', 'the archive as a file to upload')
    .action(
      async (
        name: string,
        o: { parent: string; owner: string; root?: string; archiveUrl?: string; archive?: string },
      ) => {
        print(
          await client().createTemplate({
            name,
            parentId: o.parent,
            ownerId: o.owner,
            ...(o.root === undefined ? {} : { rootTemplate: o.root }),
            ...(o.archiveUrl === undefined ? {} : { externalURL: o.archiveUrl }),
            ...(o.archive === undefined
              ? {}
              : { archiveBase64: readFileSync(o.archive).toString('base64'), fileName: basename(o.archive) }),
          }),
        );
      },
    );
  admin
    .command('submit')
    .requiredOption('--evaluation <id>')
    .requiredOption('--user <principalId>')
    .option('--team <id>')
    .option('--file <path>')
    .option('--docker <repository@sha256:digest>')
    .action(
      async (o: { evaluation: string; user: string; team?: string; file?: string; docker?: string }) => {
        const [repositoryName, digest] = (o.docker ?? '').split('@');
        print(
          await client().createSubmission({
            evaluationId: o.evaluation,
            userId: o.user,
            ...(o.team === undefined ? {} : { teamId: o.team }),
            ...(o.file === undefined
              ? {}
              : { file: { name: basename(o.file), contentBase64: readFileSync(o.file).toString('base64') } }),
            ...(o.docker === undefined
              ? {}
              : { docker: { repositoryName: repositoryName ?? '', digest: digest ?? '' } }),
          }),
        );
      },
    );
  admin
    .command('cancel <submissionId>')
    .option('--force', 'even when the submission is not cancellable')
    .action(async (id: string, o: { force?: boolean }) => {
      await client().requestCancel(id, o.force === true);
      print({ cancelRequested: id });
    });
  admin
    .command('edit-status <submissionId> <json>')
    .description(
      'change a status as a workflow would, e.g. \'{"submissionAnnotations":{"score":{"type":"DOUBLE","value":["0.9"]}}}\'',
    )
    .action(async (id: string, json: string) => {
      print(await client().editStatus(id, JSON.parse(json) as object));
    });
  admin.command('messages').action(async () => {
    print(await client().messages());
  });
  admin.command('dump').action(async () => {
    print(await client().dump());
  });
  const fault = admin.command('fault').description('inject faults into Synapse routes');
  fault
    .command('add')
    .requiredOption('--path <regex>', 'request path to match, e.g. ^/repo/v1/message$')
    .option('--method <method>')
    .option('--query <regex>', 'query string to match (without ?), e.g. status=RECEIVED')
    .option('--status <code>')
    .option('--body <text>', 'answer with exactly this body (status --status, default 200)')
    .option('--content-type <type>', "the body's content type (default application/json)")
    .option('--delay-ms <ms>')
    .option('--drop', 'close the connection without answering')
    .option('--rate <0..1>')
    .option('--times <n>')
    .action(
      async (o: {
        path: string;
        method?: string;
        query?: string;
        status?: string;
        body?: string;
        contentType?: string;
        delayMs?: string;
        drop?: boolean;
        rate?: string;
        times?: string;
      }) => {
        print(
          await client().addFault({
            path: o.path,
            ...(o.method === undefined ? {} : { method: o.method }),
            ...(o.query === undefined ? {} : { query: o.query }),
            ...(o.status === undefined ? {} : { status: integerOption(o.status, '--status') }),
            ...(o.body === undefined ? {} : { body: o.body }),
            ...(o.contentType === undefined ? {} : { contentType: o.contentType }),
            ...(o.delayMs === undefined ? {} : { delayMs: integerOption(o.delayMs, '--delay-ms') }),
            ...(o.drop === true ? { drop: true } : {}),
            ...(o.rate === undefined ? {} : { rate: Number(o.rate) }),
            ...(o.times === undefined ? {} : { times: integerOption(o.times, '--times') }),
          }),
        );
      },
    );
  fault.command('list').action(async () => {
    print(await client().faults());
  });
  fault.command('clear').action(async () => {
    await client().clearFaults();
    print({ cleared: true });
  });
}
