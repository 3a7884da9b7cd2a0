/**
 * Two lifecycle figures, measured against the local platform and the real Docker engine:
 *
 * 1. Platform calls per accepted short submission, by endpoint, excluding polling (the queue listings and
 *    the per-tick template check; see support/calls.ts). Target: at most 15. SWO makes about 20 for folders and uploads, plus a
 *    status write every 10 s while a job runs.
 * 2. Start latency: from a submission entering RECEIVED to its engine container running, with the real
 *    schedule (POLL_INTERVAL_SECONDS=10, submissions made at random points of the cycle). Target: at most
 *    the poll interval + 2 s.
 *
 * Usage: npx tsx bench/lifecycle.ts   (needs Docker and the local/cwl-engine:2 image: ./scripts/test builds it)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { loadConfig } from '../src/config/index.js';
import { OrchestratorDaemon } from '../src/daemon.js';
import { LABELS } from '../src/engine/interfaces.js';
import { createLogger } from '../src/logging/logger.js';
import { LocalPlatformAdmin } from '../src/local-platform/admin-client.js';
import { startLocalPlatform } from '../src/local-platform/server.js';
import { SynapseClient } from '../src/synapse/client.js';
import { countCalls, entries } from './support/calls.js';
import { zipBytes } from '../test/support/archives.js';

const POLL_SECONDS = 10;
const LATENCY_SAMPLES = 4;
const WORKFLOW = `cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh, -c]
arguments: ["echo scored"]
inputs:
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  synapseConfig: File
  workflowSynapseId: string
outputs: []
`;

async function main(): Promise<void> {
  const platform = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'bench-platform-')) });
  const admin = new LocalPlatformAdmin(platform.url, platform.adminToken);
  const bot = await admin.createUser({ userName: 'orchestrator-bot' });
  const alice = await admin.createUser({ userName: 'alice', firstName: 'Alice', lastName: 'Bench' });
  const project = await admin.createProject('Bench challenge', bot.ownerId);
  const output = await admin.createFolder('Output', project.id, bot.ownerId);
  const template = await admin.createTemplate({
    name: 'template.zip',
    parentId: project.id,
    ownerId: bot.ownerId,
    rootTemplate: 'wf.cwl',
    archiveBase64: (await zipBytes([{ name: 'wf.cwl', data: WORKFLOW }])).toString('base64'),
    fileName: 'template.zip',
  });
  const evaluation = await admin.createEvaluation({
    name: 'Bench queue',
    ownerId: bot.ownerId,
    contentSource: project.id,
    permissions: { [bot.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
  });
  const { config } = loadConfig({
    envFile: '/nonexistent/.env',
    env: {
      SYNAPSE_ENDPOINT: platform.url,
      SYNAPSE_PAT: bot.token,
      EVALUATION_TEMPLATES: JSON.stringify({ [evaluation.id]: template.id }),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: output.id,
      DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
      WORKFLOW_ENGINE_DOCKER_IMAGE: 'local/cwl-engine:2',
      WORKFLOW_ENGINE_COMMAND: 'cwltool',
      ORCHESTRATOR_WORK_DIR: mkdtempSync(join(tmpdir(), 'bench-work-')),
      ORCHESTRATOR_ID: `bench-${process.pid}`,
      POLL_INTERVAL_SECONDS: String(POLL_SECONDS),
      STATUS_PORT: '0', // several benchmarks may run at once; none is about the status server
    },
  });
  const silent = new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
  const logger = createLogger({ level: 'error', format: 'json', stream: silent });
  const daemon = await OrchestratorDaemon.create(config, logger);
  daemon.startSending();

  // The bench's own look at the statuses goes through another client, so it is not counted.
  const observer = new SynapseClient({ endpoint: config.synapse.endpoint, token: bot.token });

  // Count every Synapse call the orchestrator makes, by why and endpoint.
  const calls = countCalls(daemon.services);

  const submit = async () =>
    (
      await admin.createSubmission({
        evaluationId: evaluation.id,
        userId: alice.ownerId,
        file: { name: 'prediction.csv', contentBase64: Buffer.from('id,score\n1,0.9\n').toString('base64') },
      })
    ).id;

  async function callsForOneSubmission(label: string): Promise<void> {
    const id = await submit();
    calls.reset();
    for (;;) {
      await daemon.runOnce();
      const status = await observer.evaluations.getStatus(id);
      if (status.status === 'ACCEPTED') break;
      if (status.status === 'INVALID') throw new Error(`bench submission ${id} ended INVALID`);
      await sleep(200);
    }
    const counts = calls.counts();
    const counted = entries(counts.submission);
    const polling = entries(counts.polling);
    const oneTime = entries({ ...counts.template, ...counts['one-time'] });
    const total = counted.reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `\n${label}: ${total} platform calls excluding polling (target <= 15; ratio ${(total / 15).toFixed(2)})`,
    );
    for (const [key, n] of counted.sort()) console.log(`  ${String(n).padStart(3)}  ${key}`);
    console.log(`  polling during the run: ${polling.map(([key, n]) => `${n}x ${key}`).join(', ')}`);
    if (oneTime.length > 0) {
      console.log(
        `  the template's check and download, and who am I: ${oneTime.map(([key, n]) => `${n}x ${key}`).join(', ')}`,
      );
    }
  }

  await callsForOneSubmission("Accepted short submission, the submitter's first (folders and ACLs created)");
  await callsForOneSubmission('Accepted short submission, same submitter again (folders known)');

  // Start latency on the real schedule.
  const docker = new Docker();
  await daemon.dispose();
  const scheduled = await OrchestratorDaemon.create(config, logger);
  scheduled.start();
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    await sleep(Math.random() * POLL_SECONDS * 1000);
    const submittedAt = Date.now();
    const id = await submit();
    for (;;) {
      const running = await docker.listContainers({
        filters: { label: [`${LABELS.submissionId}=${id}`], status: ['running'] },
      });
      const status = await observer.evaluations.getStatus(id);
      if (running.length > 0 || status.status === 'ACCEPTED') break;
      await sleep(25);
    }
    latencies.push((Date.now() - submittedAt) / 1000);
    while ((await observer.evaluations.getStatus(id)).status !== 'ACCEPTED') await sleep(200);
  }
  await scheduled.stop();
  const worst = Math.max(...latencies);
  const target = POLL_SECONDS + 2;
  console.log(
    `\nStart latency, RECEIVED → engine container running (poll interval ${POLL_SECONDS} s): ` +
      `${latencies.map((s) => s.toFixed(1)).join(' s, ')} s; worst ${worst.toFixed(1)} s ` +
      `(target <= ${target} s; ratio ${(worst / target).toFixed(2)})`,
  );
  await platform.close();
}

await main();
