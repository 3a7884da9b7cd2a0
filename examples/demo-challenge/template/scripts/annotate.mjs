// Publishes the score on the submission (run by node in the engine container, steps/annotate.cwl):
//   node annotate.mjs <synapseConfig> <submissionId> <score.json>
// Adds `score` (DOUBLE) and `rows_scored` (LONG) to the status's submissionAnnotations and writes the
// whole status back. Everything else is left as read: the status itself, canCancel, cancelRequested and
// the orchestrator's annotations belong to the orchestrator. A status PUT is guarded by its etag, and the
// orchestrator writes the same status while the workflow runs (progress, heartbeats), so a 412 means
// "read it again and re-apply".
import { readFileSync } from 'node:fs';
import { readSynapseConfig, run, sleep, synapse } from './synapse.mjs';

const ATTEMPTS = 8;

run('annotate', async () => {
  const [configPath, submissionId, scorePath] = process.argv.slice(2);
  if (scorePath === undefined) {
    throw new Error('usage: node annotate.mjs <synapseConfig> <submissionId> <score.json>');
  }
  const config = readSynapseConfig(configPath);
  const result = JSON.parse(readFileSync(scorePath, 'utf8'));
  if (!Number.isFinite(result.score)) throw new Error(`${scorePath} has no numeric score`);
  if (!Number.isInteger(result.rows_scored)) throw new Error(`${scorePath} has no rows_scored count`);
  const added = {
    score: { type: 'DOUBLE', value: [String(result.score)] },
    rows_scored: { type: 'LONG', value: [String(result.rows_scored)] },
  };

  const path = `/evaluation/submission/${submissionId}/status`;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const status = await (await synapse(config, 'GET', path)).json();
    const current = status.submissionAnnotations ?? { id: status.id, etag: status.etag, annotations: {} };
    const body = {
      ...status,
      submissionAnnotations: { ...current, annotations: { ...current.annotations, ...added } },
    };
    const response = await synapse(config, 'PUT', path, { body, accept: [412] });
    if (response.status !== 412) {
      console.log(
        `annotate: submission ${submissionId}: score=${result.score}, rows_scored=${result.rows_scored}`,
      );
      return;
    }
    await response.text();
    console.log(`annotate: the status changed meanwhile (attempt ${attempt}); reading it again`);
    await sleep(200 * attempt + Math.floor(Math.random() * 200));
  }
  throw new Error(
    `the status of submission ${submissionId} kept changing; gave up after ${ATTEMPTS} attempts`,
  );
});
