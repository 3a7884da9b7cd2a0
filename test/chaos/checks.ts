/**
 * The verdicts: issue 12's list, each a check with its figures and, when it fails, one finding per
 * submission (or message, or leftover) that breaks it, in words concrete enough to look up.
 */
import { FINAL_KINDS, participantMessageOf, type LogContent, type SubmissionFacts } from './analysis.js';
import type { EngineRestart } from './engine-restart.js';
import type { FaultFigures } from './fault-plan.js';
import type { StopResult } from './instances.js';
import type { Message, Observations } from './observations.js';
import type { Profile } from './options.js';
import type { PendingMessage } from './outboxes.js';

export interface Finding {
  submissionId?: string;
  what: string;
}

export interface CheckResult {
  name: string;
  passed: boolean;
  figures: Record<string, number | string>;
  findings: Finding[];
}

export interface ChaosFacts {
  profile: Profile;
  facts: SubmissionFacts[];
  observations: Observations;
  orchestratorId: string;
  organizerId: string;
  faults: FaultFigures;
  kills: number;
  engineRestart: EngineRestart;
  stops: StopResult[];
  /** Messages still to send in an instance's outbox when it was stopped. */
  pendingAtStop: PendingMessage[];
}

const check = (name: string, figures: CheckResult['figures'], findings: Finding[]): CheckResult => ({
  name,
  passed: findings.length === 0,
  figures,
  findings,
});

const iso = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString().slice(11, 23));

function stepsText(f: SubmissionFacts): string {
  return f.steps
    .map(
      (s) =>
        `${iso(s.at)} ${s.status}${s.description === undefined ? '' : `/${s.description}`}${s.orchestratorId === undefined ? '' : ` by ${s.orchestratorId}`}`,
    )
    .join(' → ');
}

/** Every submission ends once, in its right status. */
function terminalStatus({ facts }: ChaosFacts): CheckResult {
  const findings: Finding[] = [];
  let stuck = 0;
  let wrong = 0;
  let twice = 0;
  for (const f of facts) {
    const id = f.record.id;
    if (f.finalWrites.length === 0) {
      stuck += 1;
      findings.push({
        submissionId: id,
        what: `stuck in ${f.status ?? '?'} (plan ${f.record.plan}): ${stepsText(f)}`,
      });
      continue;
    }
    if (f.finalWrites.length > 1) {
      twice += 1;
      findings.push({ submissionId: id, what: `made final ${f.finalWrites.length} times: ${stepsText(f)}` });
    }
    if (f.status !== f.right.status || f.description !== f.right.statusDescription) {
      wrong += 1;
      findings.push({
        submissionId: id,
        what: `ended ${f.status ?? '?'}/${f.description ?? '-'} but its workload (${f.record.plan}) must end ${f.right.status}/${f.right.statusDescription}; reason: ${f.failureReason ?? '-'}`,
      });
    }
  }
  const count = (status: string) => facts.filter((f) => f.status === status).length;
  return check(
    'every submission has exactly one terminal status, the right one',
    {
      submissions: facts.length,
      ACCEPTED: count('ACCEPTED'),
      INVALID: count('INVALID'),
      'wrong status': wrong,
      'made final twice': twice,
      stuck,
    },
    findings,
  );
}

/**
 * One container that ran per submission that runs, none for one that must not. A container the engine
 * created but never started (its start cut short by an engine restart, then removed and replaced) did not
 * run the workflow; it is counted and shown, not taken for a second run.
 */
function ranOnce({ facts }: ChaosFacts): CheckResult {
  const findings: Finding[] = [];
  let duplicates = 0;
  let never = 0;
  let neverStarted = 0;
  const list = (cs: SubmissionFacts['creations']) =>
    cs.map((c) => `${c.name} by ${c.instanceId} at ${iso(c.at)}`).join(', ');
  for (const f of facts) {
    const n = f.runs.length;
    neverStarted += f.creations.length - n;
    if (n > 1) {
      duplicates += 1;
      findings.push({ submissionId: f.record.id, what: `${n} engine containers ran: ${list(f.runs)}` });
    } else if (!f.right.runs && n > 0) {
      findings.push({
        submissionId: f.record.id,
        what: `cancelled before it started, yet ran: ${list(f.runs)}`,
      });
    } else if (f.right.runs && n === 0) {
      never += 1;
      findings.push({
        submissionId: f.record.id,
        what: `no engine container ever ran (created: ${list(f.creations) || 'none'}); ended ${f.status ?? '?'}: ${f.failureReason ?? '-'}`,
      });
    }
  }
  return check(
    'no submission ran twice (engine containers started per submission)',
    {
      'containers created': facts.reduce((sum, f) => sum + f.creations.length, 0),
      'created, never started (start cut short)': neverStarted,
      'submissions run twice or more': duplicates,
      'never ran': never,
    },
    findings,
  );
}

function logProblem(f: SubmissionFacts, log: LogContent): string | undefined {
  if (log.repeated.length > 0) return `lines written twice (${log.repeated.slice(0, 5).join(', ')}…)`;
  if (log.missing.length > 0) return `lines missing (${log.missing.slice(0, 5).join(', ')}…)`;
  // Stopped part-way: whatever it printed, without gaps (it may have been stopped before its first line).
  if (f.record.plan === 'cancel') return undefined;
  if (log.highest !== f.expectedLines) return `ends at line ${log.highest} of ${f.expectedLines}`;
  if (!log.hasEnd) return 'no end line';
  if (!log.hasEngineEnd) return "no engine's last line (Final process status)";
  return undefined;
}

/** The final log is stored, complete, before the final status. */
function finalLogs({ facts }: ChaosFacts): CheckResult {
  const findings: Finding[] = [];
  let expected = 0;
  let missing = 0;
  let incomplete = 0;
  let late = 0;
  for (const f of facts) {
    if (!f.right.runs || f.finalAt === undefined) continue;
    expected += 1;
    const id = f.record.id;
    const versions = f.logVersions.map((v) => `v${v.versionNumber} at ${iso(v.at)}`).join(', ');
    if (f.latestLog === undefined) {
      missing += 1;
      findings.push({
        submissionId: id,
        what: `no ${id}_logs.zip stored (final status at ${iso(f.finalAt)})`,
      });
      continue;
    }
    const latest = logProblem(f, f.latestLog);
    if (latest !== undefined) {
      incomplete += 1;
      findings.push({ submissionId: id, what: `stored log incomplete: ${latest} (versions: ${versions})` });
      continue;
    }
    const atFinal = f.logAtFinal === undefined ? 'no log yet' : logProblem(f, f.logAtFinal);
    const sameAsLatest =
      f.logAtFinal !== undefined &&
      f.logAtFinal.highest === f.latestLog.highest &&
      f.logAtFinal.lines === f.latestLog.lines;
    if (atFinal !== undefined || !sameAsLatest) {
      late += 1;
      findings.push({
        submissionId: id,
        what: `final status at ${iso(f.finalAt)} before the final log (${atFinal ?? 'older version'}; versions: ${versions})`,
      });
    }
  }
  return check(
    'every finished submission has its final logs, complete, uploaded before its final status',
    { 'logs expected': expected, missing, incomplete, 'after final status': late },
    findings,
  );
}

/** One "started" (when it ran) and one final message, the right one, to the submitter, in that order. */
function participantMessages({ facts }: ChaosFacts): CheckResult {
  const findings: Finding[] = [];
  const tally = {
    'missing started': 0,
    'missing final': 0,
    'wrong final': 0,
    contradictory: 0,
    'wrong recipient': 0,
    'started after final': 0,
  };
  for (const f of facts) {
    if (f.finalAt === undefined) continue;
    const id = f.record.id;
    const started = f.messages.filter((m) => m.kind === 'started');
    const finals = f.messages.filter((m) => FINAL_KINDS.includes(m.kind));
    const kinds = [...new Set(finals.map((m) => m.kind))];
    const wantStarted = f.right.runs ? 1 : 0;
    if (started.length !== wantStarted) {
      if (started.length < wantStarted) tally['missing started'] += 1;
      findings.push({
        submissionId: id,
        what: `${started.length} "started" messages, expected ${wantStarted}`,
      });
    }
    if (finals.length === 0) {
      tally['missing final'] += 1;
      findings.push({
        submissionId: id,
        what: `no final message (ended ${f.status ?? '?'} at ${iso(f.finalAt)})`,
      });
    } else if (kinds.length > 1) {
      tally.contradictory += 1;
      findings.push({ submissionId: id, what: `contradictory final messages: ${kinds.join(' and ')}` });
    } else if (kinds[0] !== f.right.finalMessage) {
      tally['wrong final'] += 1;
      findings.push({
        submissionId: id,
        what: `final message "${kinds[0] ?? ''}", expected "${f.right.finalMessage}" (plan ${f.record.plan})`,
      });
    } else if (finals.length > 1) {
      findings.push({ submissionId: id, what: `${finals.length} final messages "${f.right.finalMessage}"` });
    }
    const strays = f.messages.filter(
      (m) => m.recipients.length !== 1 || m.recipients[0] !== f.record.recipient,
    );
    if (strays.length > 0) {
      tally['wrong recipient'] += 1;
      findings.push({
        submissionId: id,
        what: `messages to ${strays.map((m) => m.recipients.join('+')).join(', ')}, not ${f.record.recipient}`,
      });
    }
    const firstFinal = Math.min(...finals.map((m) => m.at));
    if (started.some((m) => m.at > firstFinal)) {
      tally['started after final'] += 1;
      findings.push({ submissionId: id, what: '"started" message sent after the final one' });
    }
  }
  return check(
    'every participant got exactly the messages of its outcome (started once, one final, none contradictory)',
    tally,
    findings,
  );
}

/** No message (same subject, same recipients) sent twice. */
function sentOnce({ observations }: ChaosFacts): CheckResult {
  const groups = new Map<string, Message[]>();
  for (const m of observations.messages) {
    // A participant's message is one per subject; an organizer's subject is shared by many problems.
    const body = participantMessageOf(m) === undefined ? m.body : '';
    const key = `${m.subject ?? ''}\u0000${[...m.recipients].sort().join(',')}\u0000${body}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const findings: Finding[] = [];
  let extra = 0;
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    extra += group.length - 1;
    const parsed = participantMessageOf(group[0] as Message);
    findings.push({
      ...(parsed === undefined ? {} : { submissionId: parsed.submissionId }),
      what: `"${group[0]?.subject ?? ''}" sent ${group.length} times (${group.map((m) => iso(Date.parse(m.createdOn))).join(', ')})`,
    });
  }
  return check(
    'each message was sent exactly once',
    { messages: observations.messages.length, 'sent again': extra },
    findings,
  );
}

function leftovers({ observations }: ChaosFacts): CheckResult {
  const { containers, jobDirectories, credentialFiles, keptLogs } = observations.leftovers;
  const findings: Finding[] = [
    ...containers.map((c) => ({ what: `container left: ${c}` })),
    ...jobDirectories.map((d) => ({ what: `job directory left: ${d}` })),
    ...credentialFiles.map((p) => ({ what: `credentials file left: ${p}` })),
  ];
  return check(
    'no containers, job directories or credential files left behind',
    {
      containers: containers.length,
      'job directories': jobDirectories.length,
      'credential files': credentialFiles.length,
      'kept (unuploaded) logs': keptLogs.length,
    },
    findings,
  );
}

/** "Submission X in evaluation queue Y ended INVALID." (src/evaluation/finish.ts) */
const ENDED = /^Submission (\d+) in evaluation queue \d+ ended (\w+)\./;

/**
 * Organizer messages: the first line names the problem (and the submission or container it hit). One
 * message per problem, and none telling of an ending the submission did not have.
 */
function adminMessages({ observations, organizerId, orchestratorId, facts }: ChaosFacts): CheckResult {
  const admin = observations.messages.filter(
    (m) =>
      participantMessageOf(m) === undefined &&
      m.recipients.some((r) => r === organizerId || r === orchestratorId),
  );
  const problems = new Map<string, Message[]>();
  for (const m of admin) {
    const key = `${m.subject ?? ''}: ${m.body.split('\n')[0] ?? ''}`;
    problems.set(key, [...(problems.get(key) ?? []), m]);
  }
  const findings: Finding[] = [];
  for (const [key, list] of problems) {
    if (list.length > 1) findings.push({ what: `${list.length} admin messages for one problem: ${key}` });
  }
  let untrue = 0;
  for (const m of admin) {
    const [, id, ended] = ENDED.exec(m.body) ?? [];
    const actual = facts.find((f) => f.record.id === id)?.status;
    if (id === undefined || ended === undefined || actual === undefined || actual === ended) continue;
    untrue += 1;
    findings.push({
      submissionId: id,
      what: `admin told "${m.subject ?? ''}": it ended ${ended}, but it is ${actual} (${m.body.split('\n')[1] ?? ''})`,
    });
  }
  const bySubject = new Map<string, number>();
  for (const m of admin) {
    const key = `subject "${m.subject ?? ''}"`;
    bySubject.set(key, (bySubject.get(key) ?? 0) + 1);
  }
  return check(
    'admin messages: one per distinct problem, none telling a wrong ending',
    {
      'admin messages': admin.length,
      problems: problems.size,
      'telling a wrong ending': untrue,
      ...Object.fromEntries(bySubject),
    },
    findings,
  );
}

function shutdown({ stops, pendingAtStop }: ChaosFacts): CheckResult {
  const unsent: Finding[] = pendingAtStop.map((p) => ({
    ...(/^\d+:/.test(p.key) ? { submissionId: p.key.split(':')[0] } : {}),
    what: `still ${p.state} in ${p.instanceId}'s outbox when stopped: ${p.key}${p.lastError === undefined ? '' : ` (${p.lastError})`}`,
  }));
  const findings: Finding[] = stops
    .filter((s) => s.exitCode !== 0 || s.exitedAfterMs === undefined)
    .map((s) => ({
      what: `${s.id}: ${s.exitedAfterMs === undefined ? 'still running 10 s after SIGTERM' : `exit code ${String(s.exitCode)} (${String(s.signal)})`}`,
    }))
    .concat(unsent);
  return check(
    'every instance drains its outbox, then exits 0 within 10 s of SIGTERM',
    {
      'messages left in outboxes': pendingAtStop.length,
      ...Object.fromEntries(
        stops.map((s) => [
          s.id,
          s.exitedAfterMs === undefined
            ? 'no exit'
            : `exit ${String(s.exitCode)} after ${s.exitedAfterMs} ms`,
        ]),
      ),
    },
    findings,
  );
}

/** The chaos really happened: a run without faults or kills proves nothing. */
function chaosApplied({ profile, faults, kills, engineRestart }: ChaosFacts): CheckResult {
  const findings: Finding[] = [];
  const share = faults.requests === 0 ? 0 : faults.injected / faults.requests;
  if (Math.abs(share - profile.faultRate) > 0.05) {
    findings.push({
      what: `${(share * 100).toFixed(1)}% of requests faulty, planned ${profile.faultRate * 100}%`,
    });
  }
  if (kills !== profile.kills) findings.push({ what: `${kills} kills, planned ${profile.kills}` });
  if (profile.restartDockerEngine && !engineRestart.done) {
    findings.push({ what: `Docker engine not restarted: ${engineRestart.note}` });
  }
  return check(
    'the chaos was applied (faults, kills, engine restart)',
    {
      'platform requests': faults.requests,
      'faults injected': faults.injected,
      'faulty share': `${(share * 100).toFixed(1)}%`,
      '429': faults.byKind['429'],
      '503': faults.byKind['503'],
      'dropped connections': faults.byKind.drop,
      'added latency': faults.byKind.latency,
      'SIGKILLs (each restarted)': kills,
      'engine restart': engineRestart.done
        ? `done, down ${engineRestart.downMs ?? '?'} ms, ${engineRestart.survived ?? '?'}/${engineRestart.runningBefore ?? '?'} containers survived`
        : `skipped: ${engineRestart.note}`,
    },
    findings,
  );
}

export function runChecks(input: ChaosFacts): CheckResult[] {
  return [
    terminalStatus(input),
    ranOnce(input),
    finalLogs(input),
    participantMessages(input),
    sentOnce(input),
    leftovers(input),
    adminMessages(input),
    shutdown(input),
    chaosApplied(input),
  ];
}
