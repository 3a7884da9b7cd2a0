/**
 * The status server of a daemon running real jobs (real containers, the production code): while two
 * workflows run, /healthz and /readyz answer 200, /status.json and the built CLI's `status` show both rows,
 * `health` exits 0 (reading STATUS_PORT from an env file, STATUS_BIND_ADDRESS=0.0.0.0 reached through the
 * loopback), and headless Chromium renders the status page with the rows (a hostile team name shown as
 * text) and saves a screenshot (the one docs/images/status-page.png shows, with UPDATE_DOCS_SCREENSHOT=1). Once they finish, /metrics
 * has the expected families with non-zero values; a sample is saved to test-output/metrics-sample.txt.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../../src/status/report.js';
import {
  FINAL,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';
import { chromiumRequired, dumpDom, findChromium, screenshot } from '../../support/chromium.js';
import { runCli } from '../../support/cli.js';
import { describeWithDocker } from '../../support/docker.js';
import { E2E_OUTPUT_DIR, REPO_ROOT } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';

/** A team name built to hurt a page that would put it in as HTML. */
const HOSTILE_TEAM = `<img src=x onerror="document.title='owned'">Team </td><script>alert(1)</script>`;
/** How long each workflow runs: long enough for every check below while it runs. */
const RUN_SECONDS = 35;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function getReport(base: string): Promise<StatusReport> {
  return (await getJson(`${base}/status.json`)).body as StatusReport;
}

describeWithDocker('status server with jobs running', () => {
  let challenge: Challenge;
  let orchestrator: RunningOrchestrator;
  let base: string;
  let port: number;
  const ids: { team: string; user: string } = { team: '', user: '' };
  let ticking: Promise<void>;
  let tickError: unknown;

  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        archive: await zipFiles({
          'wf.cwl': shellTool(
            `(echo 40 > /progress.txt) 2>/dev/null; i=0; while [ $i -lt ${RUN_SECONDS} ]; do echo working-$i; i=\`expr $i + 1\`; sleep 1; done; echo done`,
          ),
        }),
        rootTemplate: 'wf.cwl',
        name: `Leaderboard ${process.pid}`,
      },
    ]);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    orchestrator = await startOrchestrator(challenge, {
      STATUS_PORT: String(port),
      LOG_UPLOAD_INTERVAL_SECONDS: '3',
    });
    const evaluationId = challenge.queues[0]?.evaluationId ?? '';
    const hostileTeam = await challenge.tp.admin.createTeam(HOSTILE_TEAM, [challenge.participant.ownerId]);
    ids.team = (
      await challenge.tp.admin.createSubmission({
        evaluationId,
        userId: challenge.participant.ownerId,
        teamId: hostileTeam.id,
        file: { name: 'prediction.csv', contentBase64: Buffer.from('id,score\n1,0.5\n').toString('base64') },
      })
    ).id;
    ids.user = await submitFile(challenge, evaluationId);
    // The daemon ticks (as its schedule would, every 300 ms here) until both are final.
    ticking = orchestrator
      .tickUntil(async () => {
        const statuses = await Promise.all([statusOf(challenge, ids.team), statusOf(challenge, ids.user)]);
        return statuses.every((s) => FINAL.has(s.status));
      }, 180_000)
      .catch((error: unknown) => {
        tickError = error;
      });
    // Wait until both run, with their containers and a first log upload.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const body = await getReport(base);
      const rows = body.running.filter((r) => r.state === 'running' && r.container !== undefined);
      if (rows.length === 2 && rows.every((r) => r.lastLogUploadAt !== undefined)) break;
      if (Date.now() > deadline) throw new Error(`the jobs did not start: ${JSON.stringify(body)}`);
      await sleep(500);
    }
  }, 150_000);

  afterAll(async () => {
    await ticking;
    await challenge.close();
  });

  describe('while the jobs run', () => {
    it('/healthz and /readyz answer 200', async () => {
      const health = await getJson(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', healthy: true });
      const ready = await getJson(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const { checks } = ready.body as { checks: { name: string; ok: boolean }[] };
      expect(checks.map((c) => [c.name, c.ok])).toEqual([
        ['platform', true],
        ['engine', true],
      ]);
    });

    it('/status.json shows both runs: queue, submitter, state, start, container, progress, last log upload', async () => {
      const body = await getReport(base);
      const evaluationId = challenge.queues[0]?.evaluationId;
      expect(body.orchestratorId).toBe(orchestrator.config.orchestratorId);
      expect(body.draining).toBeNull();
      const team = body.running.find((r) => r.submissionId === ids.team);
      const user = body.running.find((r) => r.submissionId === ids.user);
      expect(team).toMatchObject({ evaluationId, submitter: HOSTILE_TEAM, state: 'running' });
      expect(user).toMatchObject({ evaluationId, submitter: `user ${challenge.participant.ownerId}` });
      for (const row of [team, user]) {
        expect(row?.container).toMatch(/^workflow_job\./);
        expect(Date.parse(row?.startedAt ?? '')).toBeGreaterThan(Date.now() - 120_000);
        expect(row?.elapsedSeconds).toBeGreaterThanOrEqual(0);
        expect(row?.lastLogUploadAt).toBeDefined();
      }
      expect(body.queues).toEqual([
        expect.objectContaining({ evaluationId, running: 2, waiting: expect.any(Number) as number }),
      ]);
      expect(JSON.stringify(body)).not.toContain(challenge.tp.orchestrator.token);
    });

    it('`status` (the built CLI) prints the table; `status --json` the report; `health` exits 0', async () => {
      const table = await runCli(['status', '--url', base]);
      expect(table.status).toBe(0);
      expect(table.stdout).toMatch(
        new RegExp(`${ids.user} +${challenge.queues[0]?.evaluationId ?? ''} +user `),
      );
      expect(table.stdout).toContain(ids.team);
      expect(table.stdout).toContain('2 of 10 running here');
      const json = await runCli(['status', '--json', '--url', base]);
      expect(json.status).toBe(0);
      expect((JSON.parse(json.stdout) as StatusReport).running).toHaveLength(2);

      // As the image's HEALTHCHECK runs it: the settings from the env file, 0.0.0.0 reached on the loopback.
      const dir = mkdtempSync(join(tmpdir(), 'health-env-'));
      writeFileSync(join(dir, '.env'), `STATUS_PORT=${port}\nSTATUS_BIND_ADDRESS=0.0.0.0\n`);
      const began = Date.now();
      const health = await runCli(['--env-file', join(dir, '.env'), 'health']);
      expect(health.status).toBe(0);
      expect(health.stdout).toMatch(/^healthy \(test-\d+-\d+\): (idle|ticking)/);
      expect(Date.now() - began).toBeLessThan(3_000);
      const status = await runCli(['status'], { cwd: dir });
      expect(status.status).toBe(0);
      expect(status.stdout).toContain(ids.team);
    });

    const chromium = findChromium();
    it.skipIf(chromium === undefined && !chromiumRequired())(
      'the status page, rendered by headless Chromium, shows both rows (the team name as text) and is saved for the docs',
      async () => {
        if (chromium === undefined) {
          throw new Error(
            'No Chromium, and this run requires one (CI=true or E2E_CHROMIUM=required): run scripts/ensure-chromium.sh',
          );
        }
        const dom = await dumpDom(chromium, `${base}/`);
        expect(dom).toContain(`data-submission="${ids.team}"`);
        expect(dom).toContain(`data-submission="${ids.user}"`);
        // The hostile name is in the page as text (serialized escaped), never as markup.
        expect(dom).toContain(
          '&lt;img src=x onerror="document.title=\'owned\'"&gt;Team &lt;/td&gt;&lt;script&gt;',
        );
        expect(dom).not.toContain('<img');
        expect(dom).not.toContain('owned</title>');
        expect(dom).toContain('data-state="running"');
        // Saved with the test output; UPDATE_DOCS_SCREENSHOT=1 writes the one the docs show instead, so an
        // ordinary run leaves the checkout as it was.
        const images =
          process.env.UPDATE_DOCS_SCREENSHOT === '1'
            ? join(REPO_ROOT, 'docs', 'images')
            : (process.env.E2E_OUTPUT_DIR ?? join(REPO_ROOT, 'test-output'));
        mkdirSync(images, { recursive: true });
        const path = join(images, 'status-page.png');
        await screenshot(chromium, `${base}/`, path);
        const png = readFileSync(path);
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(png.length).toBeGreaterThan(10_000);
      },
      90_000,
    );
  });

  it('after the jobs: /metrics has every family, with counts from the run', async () => {
    await ticking;
    expect(tickError).toBeUndefined();
    expect((await statusOf(challenge, ids.team)).status).toBe('ACCEPTED');
    expect((await statusOf(challenge, ids.user)).status).toBe('ACCEPTED');
    await orchestrator.daemon.settle(30_000); // the final messages
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    mkdirSync(E2E_OUTPUT_DIR, { recursive: true });
    writeFileSync(join(E2E_OUTPUT_DIR, 'metrics-sample.txt'), text);
    const queue = challenge.queues[0]?.evaluationId ?? '';
    const value = (pattern: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(pattern));
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value(`synapse_orchestrator_submissions_finished_total{queue="${queue}",status="ACCEPTED"}`)).toBe(
      2,
    );
    expect(value(`synapse_orchestrator_submissions_started_total{queue="${queue}"}`)).toBe(2);
    expect(value(`synapse_orchestrator_running_jobs{queue="${queue}"}`)).toBe(0);
    expect(value('synapse_orchestrator_tick_duration_seconds_count')).toBeGreaterThan(5);
    expect(
      value(
        'synapse_orchestrator_platform_requests_total{endpoint="/repo/v1/evaluation/submission/{id}/status",method="PUT",code="200"}',
      ),
    ).toBeGreaterThanOrEqual(4);
    expect(
      value(
        'synapse_orchestrator_platform_request_duration_seconds_count{endpoint="/repo/v1/evaluation/{id}/submission/bundle/all",method="GET"}',
      ),
    ).toBeGreaterThan(5);
    expect(value('synapse_orchestrator_log_upload_bytes_total')).toBeGreaterThan(0);
    expect(value('synapse_orchestrator_log_uploads_total{result="uploaded"}')).toBeGreaterThanOrEqual(4);
    expect(value('synapse_orchestrator_messages_sent_total{kind="completed"}')).toBe(2);
    expect(value('synapse_orchestrator_messages_queued{state="ready"}')).toBe(0);
    expect(value('synapse_orchestrator_image_pulls_total{result="already_present"}')).toBe(2);
    for (const family of [
      'synapse_orchestrator_waiting_submissions',
      'synapse_orchestrator_draining',
      'synapse_orchestrator_platform_retries_total',
      'synapse_orchestrator_platform_errors_total',
      'synapse_orchestrator_messages_failed_total',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${family}`);
    }
    // No id or secret in a label.
    expect(text).not.toContain(ids.team);
    expect(text).not.toContain(challenge.tp.orchestrator.token);
  }, 200_000);
});
