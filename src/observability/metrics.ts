/**
 * Every metric the daemon exports on GET /metrics (Prometheus text format), with its name, help and
 * labels, in one place. Each daemon has its own registry (tests run several daemons in one process),
 * created by the runtime and handed to the parts that count: the Synapse transport (through
 * `platformObserver`), the Docker engine (`imageObserver`), the evaluation flow (Services.metrics) and the
 * outbox sender (`messageObserver`). Gauges of what is there now (running jobs, waiting submissions,
 * queued messages, draining) are read at scrape time from the sources the daemon binds (`readFrom`).
 *
 * Label values are bounded and never participant-controlled: queue = the evaluation id (from the
 * configuration), status = a Synapse submission status, endpoint = a route template (endpoint-template.ts),
 * kind = the message kind, result = a fixed word.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ImageObserver } from '../engine/docker/pulls.js';
import type { MessageObserver } from '../outbox/sender.js';
import type { CallInfo, HttpObserver } from '../synapse/http.js';
import { endpointTemplate, EXTERNAL_ENDPOINT } from './endpoint-template.js';

export const METRIC_PREFIX = 'synapse_orchestrator_';

/** What the scrape-time gauges read (bound by the daemon once it has them). */
export interface MetricSources {
  /** Running evaluations of this instance, by queue. */
  runningByQueue(): ReadonlyMap<string, number>;
  /** Waiting (RECEIVED) submissions per queue, as the intake last saw them. */
  waitingByQueue(): ReadonlyMap<string, number>;
  /** Messages in the outbox by state (held, ready, sent, failed). */
  outbox(): Readonly<Record<string, number>>;
  draining(): boolean;
}

const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;

export class Metrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;

  readonly submissionsStarted: Counter<'queue'>;
  readonly submissionsFinished: Counter<'queue' | 'status'>;
  readonly tickDuration: Histogram;
  readonly platformRequests: Counter<'endpoint' | 'method' | 'code'>;
  readonly platformRequestDuration: Histogram<'endpoint' | 'method'>;
  readonly platformRetries: Counter<'endpoint' | 'method'>;
  readonly platformErrors: Counter<'endpoint' | 'method'>;
  readonly logUploads: Counter<'result'>;
  readonly logUploadBytes: Counter;
  readonly messagesSent: Counter<'kind'>;
  readonly messagesFailed: Counter<'kind'>;
  readonly imagePulls: Counter<'result'>;
  readonly imagePullDuration: Histogram;

  constructor(options: { queues?: readonly string[]; processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Read at scrape time (the gauges' `collect` has the gauge as `this`).
    const bound = () => this.sources;

    this.submissionsStarted = new Counter({
      name: name('submissions_started_total'),
      help: 'Submissions this instance claimed and launched, by queue (evaluation id).',
      labelNames: ['queue'],
      registers,
    });
    this.submissionsFinished = new Counter({
      name: name('submissions_finished_total'),
      help: 'Submissions this instance gave a final status, by queue (evaluation id) and final status.',
      labelNames: ['queue', 'status'],
      registers,
    });
    for (const queue of options.queues ?? []) this.submissionsStarted.inc({ queue }, 0);

    new Gauge({
      name: name('running_jobs'),
      help: 'Evaluations this instance is running now (starting, running or finishing), by queue.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const [queue, count] of bound()?.runningByQueue() ?? []) this.set({ queue }, count);
      },
    });
    new Gauge({
      name: name('waiting_submissions'),
      help: 'Submissions waiting (RECEIVED) in each queue, as the intake last saw them.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const [queue, count] of bound()?.waitingByQueue() ?? []) this.set({ queue }, count);
      },
    });
    new Gauge({
      name: name('draining'),
      help: '1 when this instance starts nothing new (draining or stopping), else 0.',
      registers,
      collect() {
        this.set(bound()?.draining() === true ? 1 : 0);
      },
    });
    this.tickDuration = new Histogram({
      name: name('tick_duration_seconds'),
      help: 'How long each tick (intake and monitoring of running jobs) took.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers,
    });

    this.platformRequests = new Counter({
      name: name('platform_requests_total'),
      help: 'HTTP requests to the platform (Synapse or compatible) and presigned URLs, each attempt, by route template, method and HTTP status code ("none" when no answer came).',
      labelNames: ['endpoint', 'method', 'code'],
      registers,
    });
    this.platformRequestDuration = new Histogram({
      name: name('platform_request_duration_seconds'),
      help: 'Latency of each HTTP request to the platform, by route template and method.',
      labelNames: ['endpoint', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.platformRetries = new Counter({
      name: name('platform_retries_total'),
      help: 'Platform calls tried again after a retryable failure (429, 5xx, no answer), by route template and method.',
      labelNames: ['endpoint', 'method'],
      registers,
    });
    this.platformErrors = new Counter({
      name: name('platform_errors_total'),
      help: 'Platform calls that failed for good, after their retries, without a usable answer (no answer, a timeout, 5xx, 429, a body that is not what Synapse sends), by route template and method. A 4xx answer such as 404 or 409 is an answer the caller acts on: see platform_requests_total by code.',
      labelNames: ['endpoint', 'method'],
      registers,
    });

    this.logUploads = new Counter({
      name: name('log_uploads_total'),
      help: 'Workflow log uploads (periodic and final), by result: uploaded, failed.',
      labelNames: ['result'],
      registers,
    });
    this.logUploadBytes = new Counter({
      name: name('log_upload_bytes_total'),
      help: 'Bytes of workflow logs uploaded (the zipped archives sent to the platform).',
      registers,
    });

    this.messagesSent = new Counter({
      name: name('messages_sent_total'),
      help: 'Messages the outbox sent (to participants and organizers), by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.messagesFailed = new Counter({
      name: name('messages_failed_total'),
      help: 'Messages given up on (an error retrying cannot fix), by kind.',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: name('messages_queued'),
      help: 'Messages in the outbox not sent yet, by state: ready (to go), held (until a final status lands).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = bound()?.outbox() ?? {};
        this.set({ state: 'ready' }, counts.ready ?? 0);
        this.set({ state: 'held' }, counts.held ?? 0);
      },
    });

    this.imagePulls = new Counter({
      name: name('image_pulls_total'),
      help: 'Engine images jobs needed, by result: pulled, failed, already_present (no pull needed), not_allowed (IMAGE_PULL_POLICY=never and missing).',
      labelNames: ['result'],
      registers,
    });
    this.imagePullDuration = new Histogram({
      name: name('image_pull_duration_seconds'),
      help: 'How long image pulls took, retries included.',
      buckets: [1, 5, 15, 30, 60, 120, 300, 900],
      registers,
    });
  }

  /** Where the scrape-time gauges read from. */
  readFrom(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The text exposition, and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Counts the platform calls of one Synapse client. */
  platformObserver(): HttpObserver {
    const labels = (call: CallInfo) => ({
      endpoint: call.external ? EXTERNAL_ENDPOINT : endpointTemplate(call.path),
      method: call.method,
    });
    return {
      attempt: (call, status, seconds) => {
        const base = labels(call);
        this.platformRequests.inc({ ...base, code: status === undefined ? 'none' : String(status) });
        this.platformRequestDuration.observe(base, seconds);
      },
      retry: (call) => {
        this.platformRetries.inc(labels(call));
      },
      failed: (call, status) => {
        const answered = status !== undefined && status >= 400 && status < 500 && status !== 429;
        if (!answered) this.platformErrors.inc(labels(call));
      },
    };
  }

  imageObserver(): ImageObserver {
    return {
      image: (result, seconds) => {
        this.imagePulls.inc({ result });
        if (seconds !== undefined) this.imagePullDuration.observe(seconds);
      },
    };
  }

  messageObserver(): MessageObserver {
    return {
      sent: (kind) => {
        this.messagesSent.inc({ kind });
      },
      failed: (kind) => {
        this.messagesFailed.inc({ kind });
      },
    };
  }
}
