/**
 * What happened to each submission, read from the observations: its status writes (journal), its
 * containers (engine events), its messages, and the versions of its stored log with their contents.
 * No verdicts here; checks.ts judges.
 */
import type { StoredStatus } from '../../src/local-platform/state.js';
import type { Message, Observations } from './observations.js';
import { CANCEL_LINES, LOUD_LINES, RIGHT_ENDING, linesOf, type Plan, type RightEnding } from './workload.js';

export interface SubmissionRecord {
  id: string;
  evaluationId: string;
  recipient: string;
  plan: Plan;
  submittedAt: number;
  /** When the harness asked to cancel it (plans `cancel` and `cancelled-before-start`). */
  cancelRequestedAt?: number;
}

export const TERMINAL = new Set(['ACCEPTED', 'INVALID', 'VALIDATED', 'REJECTED', 'SCORED']);

const PREFIX = 'orgSagebionetworksSynapseWorkflowOrchestrator';
export const KEYS = {
  statusDescription: `${PREFIX}StatusDescription`,
  failureReason: `${PREFIX}FailureReason`,
  orchestratorId: `${PREFIX}OrchestratorId`,
  workflowJobId: `${PREFIX}WorkflowJobId`,
} as const;

export type MessageKind = 'started' | 'finished' | 'failed' | 'was stopped' | 'ran out of time';
export const FINAL_KINDS: readonly MessageKind[] = ['finished', 'failed', 'was stopped', 'ran out of time'];
const SUBJECT = /^Submission (\d+) (is being evaluated|finished|failed|was stopped|ran out of time): /;

export function participantMessageOf(
  message: Message,
): { submissionId: string; kind: MessageKind } | undefined {
  const match = SUBJECT.exec(message.subject ?? '');
  if (match === null) return undefined;
  const [, submissionId = '', words = ''] = match;
  return { submissionId, kind: words === 'is being evaluated' ? 'started' : (words as MessageKind) };
}

/** A string annotation of a stored status: the v2 map first, then v1. */
export function annotationOf(status: StoredStatus | undefined, key: string): string | undefined {
  if (status === undefined) return undefined;
  const v2 = status.submissionAnnotations[key]?.value[0];
  if (v2 !== undefined) return v2;
  return status.annotations?.stringAnnos?.find((a) => a.key === key)?.value;
}

export interface StatusStep {
  at: number;
  status: string;
  description?: string;
  orchestratorId?: string;
  jobName?: string;
}

export interface LogContent {
  /** The highest n among `chaos-line <id> <n>`. */
  highest: number;
  /** Numbers below the highest that are missing. */
  missing: number[];
  /** Numbers that appear more than once. */
  repeated: number[];
  hasEnd: boolean;
  /** cwltool's own last line ("Final process status is …"). */
  hasEngineEnd: boolean;
  lines: number;
}

export interface LogVersion {
  versionNumber: number;
  fileHandleId: string;
  at: number;
}

export interface SubmissionFacts {
  record: SubmissionRecord;
  right: RightEnding;
  status?: string;
  description?: string;
  failureReason?: string;
  /** Every status write, oldest first. */
  steps: StatusStep[];
  /** Writes that made it final, or changed a final status into another final one. */
  finalWrites: StatusStep[];
  finalAt?: number;
  /** Engine containers created for it (by name), with the instance that created each. */
  creations: { name: string; instanceId: string; at: number }[];
  /**
   * The ones of those that ran: the engine reported them started (or dying, which only a started one does).
   * A container whose start the engine never completed (an engine restart in the middle of it) did not run.
   */
  runs: { name: string; instanceId: string; at: number }[];
  exits: { name: string; at: number; exitCode?: number }[];
  messages: { kind: MessageKind; recipients: string[]; at: number; subject: string }[];
  logVersions: LogVersion[];
  /** The latest version's content, and the version current when the status was first made final. */
  latestLog?: LogContent;
  logAtFinal?: LogContent;
  /** How many lines the workload prints when it runs to its end (cancel: when not cancelled). */
  expectedLines: number;
}

export function readLog(text: string, submissionId: string): LogContent {
  const counts = new Map<number, number>();
  let hasEnd = false;
  let hasEngineEnd = false;
  let lines = 0;
  const numbered = new RegExp(`^chaos-line ${submissionId} (\\d+)(?: |$)`);
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    lines += 1;
    // Stored lines read `STDOUT <timestamp> <text>` (docs/lifecycle.md, Logs).
    const text = raw.replace(/^(STDOUT|STDERR) \S+ /, '');
    const match = numbered.exec(text);
    if (match !== null) {
      const n = Number(match[1]);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    } else if (text.startsWith(`chaos-end ${submissionId}`)) hasEnd = true;
    else if (text.includes('Final process status is')) hasEngineEnd = true;
  }
  const highest = Math.max(0, ...counts.keys());
  const missing: number[] = [];
  for (let n = 1; n <= highest; n++) if (!counts.has(n)) missing.push(n);
  const repeated = [...counts].filter(([, count]) => count > 1).map(([n]) => n);
  return { highest, missing, repeated, hasEnd, hasEngineEnd, lines };
}

function expectedLinesOf(record: SubmissionRecord, salt: number): number {
  switch (record.plan) {
    case 'ok':
    case 'fail':
      return linesOf(record.id, salt);
    case 'loud':
      return LOUD_LINES;
    case 'cancel':
      return CANCEL_LINES;
    default:
      return 0;
  }
}

export async function analyse(
  records: readonly SubmissionRecord[],
  observations: Observations,
  salt: number,
): Promise<SubmissionFacts[]> {
  const { dump, journal, messages, events } = observations;
  const facts: SubmissionFacts[] = [];
  for (const record of records) {
    const stored = dump.statuses[record.id];
    const steps: StatusStep[] = journal.statuses
      .filter((w) => w.status.id === record.id)
      .map((w) => {
        const description = annotationOf(w.status, KEYS.statusDescription);
        const orchestratorId = annotationOf(w.status, KEYS.orchestratorId);
        const jobName = annotationOf(w.status, KEYS.workflowJobId);
        return {
          at: Date.parse(w.at),
          status: w.status.status,
          ...(description === undefined ? {} : { description }),
          ...(orchestratorId === undefined ? {} : { orchestratorId }),
          ...(jobName === undefined ? {} : { jobName }),
        };
      });
    const finalWrites: StatusStep[] = [];
    let previous: StatusStep | undefined;
    for (const step of steps) {
      const isFinal = TERMINAL.has(step.status);
      const wasFinal = previous !== undefined && TERMINAL.has(previous.status);
      const changed =
        previous !== undefined &&
        (previous.status !== step.status || previous.description !== step.description);
      if (isFinal && (!wasFinal || changed)) finalWrites.push(step);
      previous = step;
    }
    const mine = events.filter((e) => e.submissionId === record.id);
    const logName = `${record.id}_logs.zip`;
    const logVersions: LogVersion[] = [];
    for (const write of journal.entities.filter((e) => e.name === logName)) {
      if (write.dataFileHandleId === undefined) continue;
      if (logVersions.some((v) => v.fileHandleId === write.dataFileHandleId)) continue;
      logVersions.push({
        versionNumber: write.versionNumber ?? 1,
        fileHandleId: write.dataFileHandleId,
        at: Date.parse(write.at),
      });
    }
    const finalAt = finalWrites[0]?.at;
    const latest = logVersions.at(-1);
    const atFinal = finalAt === undefined ? undefined : logVersions.filter((v) => v.at <= finalAt).at(-1);
    const contentOf = async (version: LogVersion | undefined) => {
      if (version === undefined) return undefined;
      const text = await observations.logText(version.fileHandleId);
      return text === undefined ? undefined : readLog(text, record.id);
    };
    const latestLog = await contentOf(latest);
    const logAtFinal = atFinal === latest ? latestLog : await contentOf(atFinal);
    const description = annotationOf(stored, KEYS.statusDescription);
    const failureReason = annotationOf(stored, KEYS.failureReason);
    facts.push({
      record,
      right: RIGHT_ENDING[record.plan],
      ...(stored === undefined ? {} : { status: stored.status }),
      ...(description === undefined ? {} : { description }),
      ...(failureReason === undefined ? {} : { failureReason }),
      steps,
      finalWrites,
      ...(finalAt === undefined ? {} : { finalAt }),
      creations: mine
        .filter((e) => e.action === 'create')
        .map((e) => ({ name: e.name, instanceId: e.instanceId, at: e.time })),
      runs: mine
        .filter(
          (e) =>
            e.action === 'create' &&
            mine.some((o) => o.containerId === e.containerId && (o.action === 'start' || o.action === 'die')),
        )
        .map((e) => ({ name: e.name, instanceId: e.instanceId, at: e.time })),
      exits: mine
        .filter((e) => e.action === 'die')
        .map((e) => ({
          name: e.name,
          at: e.time,
          ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }),
        })),
      messages: messages.flatMap((m) => {
        const parsed = participantMessageOf(m);
        if (parsed?.submissionId !== record.id) return [];
        return [
          {
            kind: parsed.kind,
            recipients: m.recipients,
            at: Date.parse(m.createdOn),
            subject: m.subject ?? '',
          },
        ];
      }),
      logVersions,
      ...(latestLog === undefined ? {} : { latestLog }),
      ...(logAtFinal === undefined ? {} : { logAtFinal }),
      expectedLines: expectedLinesOf(record, salt),
    });
  }
  return facts;
}
