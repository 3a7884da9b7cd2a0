/**
 * One chaos run, start to verdict:
 *
 * 1. A local platform in this process, the challenge seeded (challenge.ts); Docker's events recorded.
 * 2. Some submissions up front (a few cancelled at once: they must end without running), faults on, the
 *    instances started; the rest arrive over the arrival window.
 * 3. While submissions finish: `cancel` workloads are cancelled a few seconds after their container
 *    started (so their log has lines); SIGKILLs land at their planned progress (each instance restarted
 *    after a few seconds); the engine restarts once (full run), when no one else's container runs on it
 *    (tried again every 20 s until 90% of the submissions are final).
 * 4. When every submission is final (or the time is up): faults off, every instance's outbox emptied and
 *    a quiet spell (no message, no write) so what is on its way arrives, then SIGTERM to every instance.
 * 5. Leftovers looked for, the platform's state and the engine's events read, the checks made.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { LABELS } from '../../src/engine/interfaces.js';
import { E2E_OUTPUT_DIR, PRODUCT_OUTPUT_LOG } from '../support/paths.js';
import { TERMINAL, analyse, type SubmissionRecord } from './analysis.js';
import { setUpChallenge, submit, type ChaosChallenge } from './challenge.js';
import { runChecks, type CheckResult } from './checks.js';
import { DockerEventLog } from './docker-events.js';
import { restartDockerEngine, type EngineRestart } from './engine-restart.js';
import { InstanceLogs } from './evidence.js';
import { FaultPlan } from './fault-plan.js';
import { Instance, type StopResult } from './instances.js';
import { findLeftovers, observe } from './observations.js';
import type { Profile } from './options.js';
import { pendingMessages, type PendingMessage } from './outboxes.js';
import { seeded } from './random.js';
import {
  cancelToStop,
  exitToFinal,
  lostOf,
  percentile,
  printReport,
  writeReport,
  type Headline,
} from './report.js';
import { makeSchedule, type PlannedKill } from './schedule.js';
import { kindOf, saltOf } from './workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => {
  console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}`);
};

export interface RunResult {
  passed: boolean;
  headline: Headline;
  checks: CheckResult[];
  reportPath: string;
}

export async function chaosRun(profile: Profile, seed: number): Promise<RunResult> {
  const started = Date.now();
  const outputDir = join(E2E_OUTPUT_DIR, `chaos-${seed}`);
  rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
  const workRoot = mkdtempSync(join(tmpdir(), `chaos-${seed}-`));
  const random = seeded(seed);
  const salt = saltOf(seed);
  const schedule = makeSchedule(profile, random);
  say(
    `${profile.name} run, seed ${seed}: ${profile.submissions} submissions, ${profile.instances} instances, ${profile.kills} kills, ${profile.faultRate * 100}% faulty requests; output in ${outputDir}`,
  );

  const challenge = await setUpChallenge(workRoot, profile, seed, salt);
  const instanceIds = Array.from(
    { length: profile.instances },
    (_, i) => `chaos-${seed}-${process.pid}-${i + 1}`,
  );
  const instances = instanceIds.map(
    (id, i) =>
      new Instance(id, i + 1, outputDir, workRoot, {
        platformUrl: challenge.platform.url,
        token: challenge.orchestrator.token,
        templates: Object.fromEntries(challenge.queues.map((q) => [q.evaluationId, q.templateId])),
        outputRootId: challenge.outputRootId,
        notificationPrincipalId: challenge.organizer.ownerId,
        maxConcurrent: profile.maxConcurrentPerInstance,
        messagesPerMinute: profile.messagesPerMinute,
        logUploadIntervalSeconds: profile.logUploadIntervalSeconds,
      }),
  );
  const killAll = () => {
    for (const instance of instances) instance.killNow();
  };
  process.once('exit', killAll);
  const events = new DockerEventLog(new Set(instanceIds));
  const faults = new FaultPlan(challenge.platform, profile.faultRate);
  const records: SubmissionRecord[] = [];
  let kills = 0;
  let engineRestart: EngineRestart = {
    done: false,
    note: profile.restartDockerEngine ? 'not attempted' : 'not planned in the short run',
    liveRestoreTurnedOn: false,
  };
  let stops: StopResult[] = [];
  let pendingAtStop: PendingMessage[] = [];
  try {
    events.start();
    const add = async (cancelAtOnce: boolean) => {
      const work = await submit(challenge, random, records.length + 1);
      const record: SubmissionRecord = {
        ...work,
        plan: cancelAtOnce ? 'cancelled-before-start' : kindOf(work.id, salt),
      };
      if (cancelAtOnce) {
        await challenge.admin.requestCancel(work.id, true);
        record.cancelRequestedAt = Date.now();
      }
      records.push(record);
    };
    for (let i = 0; i < profile.submittedUpFront; i++) await add(i < profile.cancelledBeforeStart);
    faults.start();
    for (const instance of instances) instance.start();
    const t0 = Date.now();
    say(`${records.length} submitted, faults on, ${instances.length} instances started`);

    const arrivals = [...schedule.arrivals];
    const pendingKills: PlannedKill[] = [...schedule.kills];
    let disruption: Promise<void> | undefined;
    const cancelDue = new Map<string, number>();
    let engineAttempts = 0;
    let lastEngineAttempt = 0;
    const deadline = t0 + profile.timeoutSeconds * 1000;
    let lastSay = 0;
    for (;;) {
      const now = Date.now();
      while (arrivals.length > 0 && (arrivals[0] ?? 0) <= now - t0) {
        arrivals.shift();
        await add(false);
      }
      const statuses = challenge.platform.store.state.statuses;
      const final = records.filter((r) => TERMINAL.has(statuses[r.id]?.status ?? '')).length;
      const progress = final / profile.submissions;
      for (const record of records.filter((r) => r.plan === 'cancel' && r.cancelRequestedAt === undefined)) {
        if (statuses[record.id]?.status !== 'EVALUATION_IN_PROGRESS') continue;
        const containerStarted = events.events.find(
          (e) => e.submissionId === record.id && e.action === 'start',
        );
        if (containerStarted === undefined) continue;
        // cwltool takes a few seconds before the workload prints its first line.
        const due = cancelDue.get(record.id) ?? containerStarted.time + 6_000 + schedule.cancelDelayMs();
        cancelDue.set(record.id, due);
        if (due > now) continue;
        try {
          await challenge.admin.requestCancel(record.id);
          record.cancelRequestedAt = Date.now();
        } catch {
          // Not cancellable at this moment (being claimed or finished): looked at again next round.
        }
      }
      if (disruption === undefined) {
        const kill = pendingKills[0];
        if (kill !== undefined && progress >= kill.progress) {
          pendingKills.shift();
          disruption = (async () => {
            await sleep(kill.delayMs);
            const instance = instances[kill.instance];
            if (instance === undefined) return;
            await instance.kill();
            kills += 1;
            say(`SIGKILL ${instance.id} (${final}/${profile.submissions} final); back in ${kill.downMs} ms`);
            await sleep(kill.downMs);
            instance.start();
          })().finally(() => (disruption = undefined));
        } else if (
          schedule.engineRestartProgress !== undefined &&
          progress >= schedule.engineRestartProgress &&
          progress < 0.9 &&
          (engineAttempts === 0 || (engineRestart.tryAgain === true && now - lastEngineAttempt >= 20_000))
        ) {
          engineAttempts += 1;
          lastEngineAttempt = now;
          disruption = (async () => {
            say(`restarting the Docker engine (${final}/${profile.submissions} final)`);
            engineRestart = await restartDockerEngine(new Set(instanceIds));
            say(
              `engine restart: ${engineRestart.note}${engineRestart.tryAgain === true ? ' (will try again)' : ''}`,
            );
          })().finally(() => (disruption = undefined));
        }
      }
      const allIn = records.length === profile.submissions;
      if (allIn && final === profile.submissions && pendingKills.length === 0 && disruption === undefined) {
        say(`every submission is final after ${Math.round((now - t0) / 1000)} s`);
        break;
      }
      if (now > deadline) {
        say(`time is up (${profile.timeoutSeconds} s): ${profile.submissions - final} submissions not final`);
        break;
      }
      if (now - lastSay > 15_000) {
        lastSay = now;
        say(`${records.length} submitted, ${final} final, ${kills} kills so far`);
      }
      await sleep(500);
    }
    await disruption;
    faults.stop();
    await waitForQuiet(challenge, profile, instances);
    pendingAtStop = pendingMessages(instances);
    stops = await Promise.all(instances.map((instance) => instance.stop()));
    say(`instances stopped: ${stops.map((s) => `${s.id} exit ${String(s.exitCode)}`).join(', ')}`);
  } finally {
    killAll();
    process.removeListener('exit', killAll);
  }
  await events.stop();
  const leftovers = await findLeftovers(instances);
  const observations = await observe(challenge, events.events, leftovers);
  const facts = await analyse(records, observations, salt);
  const faultFigures = faults.figures();
  const checks = runChecks({
    profile,
    facts,
    observations,
    orchestratorId: challenge.orchestrator.ownerId,
    organizerId: challenge.organizer.ownerId,
    faults: faultFigures,
    kills,
    engineRestart,
    stops,
    pendingAtStop,
  });
  const latency = exitToFinal(facts);
  const cancelLatency = cancelToStop(facts);
  const headline: Headline = {
    profile: profile.name,
    seed,
    seconds: Math.round((Date.now() - started) / 1000),
    submissions: records.length,
    'faults injected': faultFigures.injected,
    kills,
    'engine restarts': engineRestart.done ? 1 : 0,
    duplicates: facts.filter((f) => f.runs.length > 1).length,
    lost: lostOf(facts).length,
    stuck: facts.filter((f) => f.finalAt === undefined).length,
    leftovers:
      leftovers.containers.length + leftovers.jobDirectories.length + leftovers.credentialFiles.length,
    'exit→final p50 ms': percentile(latency, 50),
    'exit→final p95 ms': percentile(latency, 95),
    'exit→final worst ms': percentile(latency, 100),
    'exit→final samples': latency.length,
    'cancel→container stopped p50 ms': percentile(cancelLatency, 50),
    'cancel→container stopped worst ms': percentile(cancelLatency, 100),
  };
  const logs = new InstanceLogs(instances.map((i) => i.logPath));
  const reportPath = join(E2E_OUTPUT_DIR, `chaos-${seed}.json`);
  writeReport(reportPath, headline, checks, facts, logs, {
    engineRestart,
    faults: faultFigures,
    dockerEventReconnects: events.reconnects,
    instances: instances.map((i) => ({ id: i.id, log: i.logPath, starts: i.starts, kills: i.kills })),
    leftovers,
  });
  printReport(headline, checks, logs);
  say(`report: ${reportPath}; instance logs: ${outputDir}`);
  shareWithSecretScan(instances);
  await cleanUp(challenge, new Set(instanceIds), workRoot);
  return { passed: checks.every((c) => c.passed), headline, checks, reportPath };
}

/**
 * After the faults are off: wait until every instance's outbox is empty and no message and no write has
 * arrived for a while.
 */
async function waitForQuiet(
  challenge: ChaosChallenge,
  profile: Profile,
  instances: readonly Instance[],
): Promise<void> {
  const { store } = challenge.platform;
  const activity = () => {
    const journal = store.journal.read();
    return store.state.messages.length + journal.statuses.length + journal.entities.length;
  };
  const until = Date.now() + profile.settleTimeoutSeconds * 1000;
  let last = activity();
  let quietSince = Date.now();
  while (Date.now() < until) {
    await sleep(1_000);
    const now = activity();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (
      Date.now() - quietSince >= profile.quietSeconds * 1000 &&
      pendingMessages(instances).length === 0
    ) {
      return;
    }
  }
  say(
    `still not quiet, or messages still in an outbox, after ${profile.settleTimeoutSeconds} s; stopping the instances anyway`,
  );
}

/**
 * Under ./scripts/test the orchestrator ran with the e2e suite's token, so its output joins the product
 * output the secret scan reads next.
 */
function shareWithSecretScan(instances: readonly Instance[]): void {
  if (process.env.E2E_SYNAPSE_TOKEN === undefined) return;
  mkdirSync(dirname(PRODUCT_OUTPUT_LOG), { recursive: true });
  for (const instance of instances) {
    appendFileSync(
      PRODUCT_OUTPUT_LOG,
      `\n$ chaos instance ${instance.id}\n${readFileSync(instance.logPath, 'utf8')}`,
    );
  }
}

/** What the run leaves on the machine goes, once counted: its containers, work directories, platform. */
async function cleanUp(
  challenge: ChaosChallenge,
  instanceIds: ReadonlySet<string>,
  workRoot: string,
): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true });
  for (const container of all.filter((c) => instanceIds.has(c.Labels[LABELS.orchestratorId] ?? ''))) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await challenge.platform.close();
  rmSync(workRoot, { recursive: true, force: true });
}
