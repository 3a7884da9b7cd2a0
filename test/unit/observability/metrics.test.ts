/** The metrics: one registry per daemon, route templates as labels, gauges read at scrape time. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/observability/metrics.js';

const sources = (running: number) => ({
  runningByQueue: () => new Map([['9600001', running]]),
  waitingByQueue: () => new Map([['9600001', 5]]),
  outbox: () => ({ ready: 2, held: 1, sent: 9, failed: 0 }),
  draining: () => running === 0,
});

describe('Metrics', () => {
  it('keeps two daemons apart', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.submissionsFinished.inc({ queue: 'q', status: 'ACCEPTED' });
    expect((await a.exposition()).body).toContain(
      'synapse_orchestrator_submissions_finished_total{queue="q",status="ACCEPTED"} 1',
    );
    expect((await b.exposition()).body).not.toContain('status="ACCEPTED"');
  });

  it('labels platform calls by route template, method and code; counts retries and failures', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const observer = metrics.platformObserver();
    const call = { method: 'PUT', path: '/repo/v1/evaluation/submission/9612345/status', external: false };
    observer.attempt(call, 503, 0.2);
    observer.retry(call);
    observer.attempt(call, undefined, 30);
    observer.failed(call, undefined);
    observer.failed(call, 404); // an answer the caller acts on (not found), not an error of the platform
    observer.attempt(
      { method: 'PUT', path: '/s3/bucket/3000001/abc/part?X-Amz-Signature=zz', external: true },
      200,
      0.01,
    );
    const { body, contentType } = await metrics.exposition();
    expect(contentType).toMatch(/^text\/plain/);
    const route = 'endpoint="/repo/v1/evaluation/submission/{id}/status",method="PUT"';
    expect(body).toContain(`synapse_orchestrator_platform_requests_total{${route},code="503"} 1`);
    expect(body).toContain(`synapse_orchestrator_platform_requests_total{${route},code="none"} 1`);
    expect(body).toContain(`synapse_orchestrator_platform_retries_total{${route}} 1`);
    expect(body).toContain(`synapse_orchestrator_platform_errors_total{${route}} 1`);
    expect(body).toContain(`synapse_orchestrator_platform_request_duration_seconds_count{${route}} 2`);
    expect(body).toContain('endpoint="(presigned URL)",method="PUT",code="200"} 1');
    expect(body).not.toContain('9612345');
    expect(body).not.toContain('Signature');
  });

  it('reads running, waiting, queued messages and draining when scraped', async () => {
    const metrics = new Metrics({ queues: ['9600001'], processMetrics: false });
    let running = 2;
    metrics.readFrom({ ...sources(0), runningByQueue: () => new Map([['9600001', running]]) });
    let body = (await metrics.exposition()).body;
    expect(body).toContain('synapse_orchestrator_running_jobs{queue="9600001"} 2');
    expect(body).toContain('synapse_orchestrator_waiting_submissions{queue="9600001"} 5');
    expect(body).toContain('synapse_orchestrator_messages_queued{state="ready"} 2');
    expect(body).toContain('synapse_orchestrator_messages_queued{state="held"} 1');
    expect(body).toContain('synapse_orchestrator_draining 1');
    expect(body).toContain('synapse_orchestrator_submissions_started_total{queue="9600001"} 0');
    running = 0;
    body = (await metrics.exposition()).body;
    expect(body).toContain('synapse_orchestrator_running_jobs{queue="9600001"} 0');
  });

  it('counts image pulls by result and messages by kind', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.imageObserver().image('pulled', 12);
    metrics.imageObserver().image('already_present');
    metrics.messageObserver().sent('completed');
    metrics.messageObserver().failed('admin');
    const { body } = await metrics.exposition();
    expect(body).toContain('synapse_orchestrator_image_pulls_total{result="pulled"} 1');
    expect(body).toContain('synapse_orchestrator_image_pulls_total{result="already_present"} 1');
    expect(body).toContain('synapse_orchestrator_image_pull_duration_seconds_count 1');
    expect(body).toContain('synapse_orchestrator_messages_sent_total{kind="completed"} 1');
    expect(body).toContain('synapse_orchestrator_messages_failed_total{kind="admin"} 1');
  });

  it('adds process metrics when asked', async () => {
    const { body } = await new Metrics().exposition();
    expect(body).toContain('process_cpu_user_seconds_total');
  });
});
