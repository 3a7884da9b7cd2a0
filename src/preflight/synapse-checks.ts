/**
 * The Synapse side of `validate`: the token, each queue's rights, the output root's rights, and the
 * principals named in the configuration. Only reads: nothing on Synapse is created or changed.
 */
import type { SynapseEndpoint } from '../config/config.js';
import { ORCHESTRATOR_OUTPUT_ACCESS, ORCHESTRATOR_QUEUE_ACCESS } from '../organizer/access.js';
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError, SynapseError } from '../synapse/errors.js';
import { CONCRETE, type AccessType, type UserProfile } from '../synapse/types.js';
import { notChecked, ok, problem, warning, type CheckResult } from './report.js';

/** Who the token belongs to, as messages name it: `orchestrator-bot (3350001)`. */
export interface Account {
  userName: string;
  ownerId: string;
  label: string;
}

export const ACCOUNT_CHECK = 'Synapse account';

/** What the orchestrator does with each right it needs (the lists themselves are organizer/access.ts's). */
const QUEUE_PURPOSES: Partial<Record<AccessType, string>> = {
  READ: 'see the queue',
  READ_PRIVATE_SUBMISSION: 'read its submissions',
  UPDATE_SUBMISSION: 'claim submissions and set their statuses',
};
const OUTPUT_PURPOSES: Partial<Record<AccessType, string>> = {
  CREATE: "create the submitters' folders",
  READ: 'find them again',
  UPDATE: 'upload new versions of the logs',
  DOWNLOAD: 'read what is in them',
  CHANGE_PERMISSIONS: 'share them with each submitter',
};

const withPurposes = (
  rights: readonly AccessType[],
  purposes: Partial<Record<AccessType, string>>,
): readonly [AccessType, string][] => rights.map((right) => [right, purposes[right] ?? right.toLowerCase()]);

/** The rights the orchestrator uses on each queue, and what it does with them. */
const QUEUE_RIGHTS = withPurposes(ORCHESTRATOR_QUEUE_ACCESS, QUEUE_PURPOSES);
/** The rights the orchestrator uses on the output root (synapse-rest.md §6). */
const OUTPUT_RIGHTS = withPurposes(ORCHESTRATOR_OUTPUT_ACCESS, OUTPUT_PURPOSES);

/** Scopes a personal access token needs for what the orchestrator does. */
const TOKEN_SCOPES = ['view', 'download', 'modify'] as const;

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** What went wrong talking to Synapse, for a detail line (no token: SynapseError never carries it). */
function failure(error: unknown): string {
  if (error instanceof SynapseError) {
    return error.status === undefined
      ? `no answer (${error.code ?? 'network error'}): ${error.reason}`
      : `${error.status}: ${error.reason}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The scopes a Synapse personal access token (a JWT) carries, when it says; undefined otherwise. */
export function tokenScopes(token: string): string[] | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    const scope = (claims as { access?: { scope?: unknown } } | null)?.access?.scope;
    if (!Array.isArray(scope) || !scope.every((s) => typeof s === 'string')) return undefined;
    return scope;
  } catch {
    return undefined;
  }
}

export interface AccountCheck {
  result: CheckResult;
  account?: Account;
}

/** GET /userProfile with the token: who it belongs to, or why it does not work. */
export async function checkAccount(
  client: SynapseClient,
  endpoint: SynapseEndpoint,
  token: string,
  tokenVariable: string,
  configuredUserName: string | undefined,
): Promise<AccountCheck> {
  let me: UserProfile;
  try {
    me = await client.profiles.me();
  } catch (error) {
    if (isSynapseError(error, 401)) {
      return {
        result: problem(
          ACCOUNT_CHECK,
          `${endpoint.repoUrl} refused the token (401): ${tokenVariable} is invalid or expired`,
          `Create a new personal access token (Account Settings > Personal Access Tokens, with view, download and modify scopes) and put it in ${tokenVariable}.`,
        ),
      };
    }
    if (isSynapseError(error, 403)) {
      return {
        result: problem(
          ACCOUNT_CHECK,
          `${endpoint.repoUrl} accepted the token but refused to show its profile (403: ${error.reason})`,
          `Use a token in ${tokenVariable} with the view, download and modify scopes.`,
        ),
      };
    }
    if (error instanceof SynapseError && error.status === undefined) {
      return {
        result: problem(
          ACCOUNT_CHECK,
          `cannot reach Synapse at ${endpoint.baseUrl}: ${failure(error)}`,
          'Check SYNAPSE_ENDPOINT and that this machine can reach it.',
        ),
      };
    }
    return {
      result: problem(
        ACCOUNT_CHECK,
        `GET /userProfile at ${endpoint.repoUrl} failed (${failure(error)})`,
        'Check SYNAPSE_ENDPOINT (it must be the base URL of a Synapse stack, without /repo/v1), then try again.',
      ),
    };
  }
  const account = { userName: me.userName, ownerId: me.ownerId, label: `${me.userName} (${me.ownerId})` };
  const signedIn = `signed in as ${account.label} at ${endpoint.baseUrl}`;
  const scopes = tokenScopes(token);
  const missingScopes = scopes === undefined ? [] : TOKEN_SCOPES.filter((scope) => !scopes.includes(scope));
  if (missingScopes.length > 0) {
    return {
      account,
      result: problem(
        ACCOUNT_CHECK,
        `${signedIn}, but the token lacks the ${list(missingScopes)} scope${missingScopes.length === 1 ? '' : 's'}`,
        `Create a token with the view, download and modify scopes for ${account.userName} and put it in ${tokenVariable}.`,
      ),
    };
  }
  if (configuredUserName !== undefined && configuredUserName !== me.userName) {
    return {
      account,
      result: warning(
        ACCOUNT_CHECK,
        `${signedIn}, but SYNAPSE_USERNAME is ${configuredUserName}: workflows get that name with this token in their credentials file`,
        `Set SYNAPSE_USERNAME to ${me.userName}, or leave it unset.`,
      ),
    };
  }
  return { account, result: ok(ACCOUNT_CHECK, signedIn) };
}

/** Which of `rights` the account lacks, asked one by one (GET …/access?accessType=…). */
/** The rights (with their purposes) the account lacks, or the problem of not being able to ask. */
async function missingRights(
  check: { name: string; title: string; account: Account },
  rights: readonly [AccessType, string][],
  has: (right: AccessType) => Promise<boolean>,
): Promise<{ missing: [AccessType, string][] } | { unanswered: CheckResult }> {
  try {
    const answers = await Promise.all(rights.map(async ([right]) => has(right)));
    return { missing: rights.filter((_, index) => answers[index] !== true) };
  } catch (error) {
    return {
      unanswered: problem(
        check.name,
        `${check.title}: could not ask Synapse for ${check.account.label}'s rights (${failure(error)})`,
        'Run validate again.',
      ),
    };
  }
}

/** The queue exists, and the account may read it, read its submissions and update their statuses. */
export async function checkQueue(
  client: SynapseClient,
  evaluationId: string,
  account: Account,
): Promise<CheckResult> {
  const name = `Queue ${evaluationId}`;
  const allRights = list(QUEUE_RIGHTS.map(([right]) => right));
  let title: string;
  try {
    const evaluation = await client.evaluations.get(evaluationId);
    title = `"${evaluation.name}"`;
  } catch (error) {
    if (isSynapseError(error, 404)) {
      return problem(
        name,
        `evaluation ${evaluationId} does not exist`,
        `Check the queue id ${evaluationId} in EVALUATION_TEMPLATES.`,
      );
    }
    if (isSynapseError(error, 403)) {
      return problem(
        name,
        `${account.label} may not read evaluation ${evaluationId} (403)`,
        `Grant ${account.label} ${allRights} in the sharing settings of queue ${evaluationId}.`,
      );
    }
    return problem(
      name,
      `could not read evaluation ${evaluationId} (${failure(error)})`,
      'Run validate again; if it persists, check SYNAPSE_ENDPOINT.',
    );
  }
  const answer = await missingRights({ name, title, account }, QUEUE_RIGHTS, (right) =>
    client.evaluations.hasAccess(evaluationId, right),
  );
  if ('unanswered' in answer) return answer.unanswered;
  const { missing } = answer;
  if (missing.length > 0) {
    const rights = list(missing.map(([right]) => right));
    return problem(
      name,
      `${title}: ${account.label} lacks ${rights}, so it cannot ${list(missing.map(([, use]) => use))}`,
      `Grant ${account.label} ${rights} in the sharing settings of queue ${evaluationId} ${title} (it needs ${allRights}).`,
    );
  }
  return ok(name, `${title}: ${account.label} may read its submissions and update their statuses`);
}

export async function checkOutputRoot(
  client: SynapseClient,
  rootId: string,
  account: Account,
): Promise<CheckResult> {
  const name = `Output folder ${rootId}`;
  const allRights = list(OUTPUT_RIGHTS.map(([right]) => right));
  let title: string;
  try {
    const entity = await client.entities.get(rootId);
    title = `"${entity.name}"`;
    if (entity.concreteType !== CONCRETE.project && entity.concreteType !== CONCRETE.folder) {
      const type = entity.concreteType.split('.').pop() ?? entity.concreteType;
      return problem(
        name,
        `${rootId} ${title} is a ${type}, not a project or folder`,
        'Set WORKFLOW_OUTPUT_ROOT_ENTITY_ID to the project or folder under which submitters get their folders.',
      );
    }
  } catch (error) {
    if (isSynapseError(error, 404)) {
      return problem(name, `${rootId} does not exist`, 'Check WORKFLOW_OUTPUT_ROOT_ENTITY_ID.');
    }
    if (isSynapseError(error, 403)) {
      return problem(
        name,
        `${account.label} may not read ${rootId} (403)`,
        `Grant ${account.label} ${allRights} on ${rootId} in its sharing settings.`,
      );
    }
    return problem(
      name,
      `could not read ${rootId} (${failure(error)})`,
      'Run validate again; if it persists, check SYNAPSE_ENDPOINT.',
    );
  }
  const answer = await missingRights({ name, title, account }, OUTPUT_RIGHTS, (right) =>
    client.entities.hasAccess(rootId, right),
  );
  if ('unanswered' in answer) return answer.unanswered;
  const { missing } = answer;
  if (missing.length > 0) {
    const rights = list(missing.map(([right]) => right));
    let where = `on ${rootId} ${title}`;
    try {
      const benefactor = await client.acl.benefactor(rootId);
      if (benefactor.id !== rootId)
        where += ` (its sharing settings are those of ${benefactor.id} "${benefactor.name}")`;
    } catch {
      // Only a hint; the fix stands without it.
    }
    return problem(
      name,
      `${title}: ${account.label} lacks ${rights}, so it cannot ${list(missing.map(([, use]) => use))}`,
      `Grant ${account.label} ${rights} ${where} (it needs ${allRights}).`,
    );
  }
  return ok(name, `${title}: ${account.label} may create folders under it, upload to them and share them`);
}

/** NOTIFICATION_PRINCIPAL_ID or DATA_UNLOCK_SYNAPSE_PRINCIPAL_ID names a user or a team that exists. */
export async function checkPrincipal(
  client: SynapseClient,
  variable: string,
  principalId: string,
  role: string,
): Promise<CheckResult> {
  const name = variable;
  try {
    const user = await client.profiles.user(principalId);
    return ok(name, `${principalId} is the user ${user.userName}, who ${role}`);
  } catch (error) {
    if (!isSynapseError(error, 404)) {
      return problem(name, `could not look up ${principalId} (${failure(error)})`, 'Run validate again.');
    }
  }
  try {
    const team = await client.profiles.team(principalId);
    return ok(name, `${principalId} is the team "${team.name}", which ${role}`);
  } catch (error) {
    if (isSynapseError(error, 404)) {
      return problem(
        name,
        `${principalId} is neither a user nor a team`,
        `Set ${variable} to the id of a Synapse user or team, or leave it unset.`,
      );
    }
    return problem(name, `could not look up ${principalId} (${failure(error)})`, 'Run validate again.');
  }
}

/** For checks that need a working account when the account check failed. */
export function needsAccount(name: string): CheckResult {
  return notChecked(name, `needs a working Synapse account (see ${ACCOUNT_CHECK})`);
}
