/**
 * The outbox sends every message exactly once: through lost answers, throttling, a process that stops in
 * the middle of a send, and a held message whose status went either way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { Outbox, type NewMessage } from '../../../src/outbox/outbox.js';
import { OutboxSender } from '../../../src/outbox/sender.js';
import { SynapseError } from '../../../src/synapse/errors.js';
import type { MessageApi } from '../../../src/synapse/messages.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/synapse/retry.js';
import type { MessageToUser, SubmissionStatus } from '../../../src/synapse/types.js';

const UNCERTAIN_MS = 60;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = createLogger({
  level: 'error',
  format: 'json',
  stream: new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  }),
});

type PostBehaviour =
  'ok' | 'create-then-fail' | 'fail-before' | 'throttle' | 'forbidden' | 'create-late' | 'hang-then-create';

/** A Synapse stand-in for messages: what it created, and what the next POSTs do. */
class FakeSynapse {
  readonly created: MessageToUser[] = [];
  behaviours: PostBehaviour[] = [];
  private handles = 0;
  posts = 0;

  api(): MessageApi {
    const fake = {
      uncertainWaitMs: UNCERTAIN_MS,
      uploadBody: async () => `handle-${++this.handles}`,
      throttledDelay: () => 20,
      post: async (
        request: { recipients: string[]; subject: string; fileHandleId: string },
        sending?: () => Promise<void>,
      ) => {
        await sending?.();
        this.posts++;
        const behaviour = this.behaviours.shift() ?? 'ok';
        const create = () => {
          const message = {
            id: String(this.created.length + 1),
            createdBy: 'me',
            createdOn: new Date().toISOString(),
            ...request,
          };
          this.created.push(message);
          return message;
        };
        const error = (status: number) =>
          new SynapseError({ status, reason: 'fake', method: 'POST', path: '/message' });
        switch (behaviour) {
          case 'ok':
            return create();
          case 'create-then-fail':
            create();
            throw error(503);
          case 'fail-before':
            throw error(502);
          case 'throttle':
            throw error(429);
          case 'forbidden':
            throw error(403);
          case 'create-late':
            // The server is still working on it when the answer is given up on.
            setTimeout(create, UNCERTAIN_MS / 2);
            throw new SynapseError({
              reason: 'timeout',
              method: 'POST',
              path: '/message',
              code: 'ETIMEDOUT',
            });
          case 'hang-then-create':
            // No answer at all (the process will be gone before it comes); the server creates it later.
            setTimeout(create, UNCERTAIN_MS / 2);
            return new Promise<never>(() => undefined);
        }
      },
      findSent: async (fileHandleId: string) => this.created.find((m) => m.fileHandleId === fileHandleId),
    };
    return fake as unknown as MessageApi;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function message(key: string, submissionId?: string): NewMessage {
  return {
    key,
    submissionId,
    kind: 'test',
    recipients: ['42'],
    subject: `subject ${key}`,
    body: `body ${key}`,
  };
}

function sender(outbox: Outbox, synapse: FakeSynapse, status?: (id: string) => SubmissionStatus) {
  return new OutboxSender({
    outbox,
    messages: synapse.api(),
    statusOf: async (id) => {
      if (status === undefined) throw new Error('no status');
      return status(id);
    },
    jobOf: (s) => s.annotations?.stringAnnos?.find((a) => a.key === 'job')?.value,
    isRunning: (s) => s.status === 'EVALUATION_IN_PROGRESS',
    writtenAtOf: () => undefined,
    logger: quiet,
    retry: { ...DEFAULT_RETRY_POLICY, initialDelayMs: 5, maxDelayMs: 10 },
  });
}

async function open(): Promise<{ dir: string; outbox: Outbox }> {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  return { dir, outbox: await Outbox.open(dir) };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('the outbox', () => {
  it('sends each message once although answers are lost, throttled or late', async () => {
    const { outbox } = await open();
    const synapse = new FakeSynapse();
    synapse.behaviours = ['create-then-fail', 'throttle', 'fail-before', 'create-late', 'ok', 'ok', 'ok'];
    const worker = sender(outbox, synapse);
    worker.start();
    for (const key of ['a', 'b', 'c', 'd']) await outbox.add(message(key));
    await until(() => outbox.counts().sent === 4);
    await sleep(UNCERTAIN_MS * 2); // a late creation would show up now
    await worker.stop(1_000);
    expect(synapse.created.map((m) => m.subject).sort()).toEqual([
      'subject a',
      'subject b',
      'subject c',
      'subject d',
    ]);
  });

  it('a key already in the outbox (sent or not) adds nothing', async () => {
    const { outbox } = await open();
    const synapse = new FakeSynapse();
    const worker = sender(outbox, synapse);
    worker.start();
    expect(await outbox.add(message('once'))).toBe(true);
    await until(() => outbox.counts().sent === 1);
    expect(await outbox.add(message('once'))).toBe(false);
    await sleep(50);
    await worker.stop(1_000);
    expect(synapse.created).toHaveLength(1);
  });

  it('a process stopped while its POST was unanswered: the next one waits, finds the message, and does not send it again', async () => {
    const { dir, outbox } = await open();
    const synapse = new FakeSynapse();
    synapse.behaviours = ['hang-then-create'];
    const first = sender(outbox, synapse);
    first.start();
    await outbox.add(message('late'));
    await until(() => synapse.posts === 1);
    await first.stop(0); // the process goes; the server creates the message a moment later

    const reopened = await Outbox.open(dir);
    const second = sender(reopened, synapse);
    second.start();
    await until(() => reopened.counts().sent === 1);
    await second.stop(1_000);
    expect(synapse.created).toHaveLength(1);
    expect(synapse.posts).toBe(1);
  });

  it("one submission's messages keep their order; a message refused for good does not hold up the others", async () => {
    const { outbox } = await open();
    const synapse = new FakeSynapse();
    synapse.behaviours = ['fail-before', 'forbidden'];
    const worker = sender(outbox, synapse);
    worker.start();
    await outbox.add(message('s1-started', 's1'));
    await outbox.add(message('admin', undefined));
    await outbox.add(message('s1-final', 's1'));
    await until(() => outbox.counts().sent + outbox.counts().failed === 3);
    await worker.stop(1_000);
    const s1 = synapse.created
      .filter((m) => (m.subject ?? '').startsWith('subject s1'))
      .map((m) => m.subject);
    expect(s1).toEqual(['subject s1-started', 'subject s1-final']);
    expect(outbox.counts().failed).toBe(1);
  });

  it('a held message goes only once released, and never once dropped', async () => {
    const { outbox } = await open();
    const synapse = new FakeSynapse();
    const worker = sender(outbox, synapse);
    worker.start();
    const heldFor = { submissionId: 's', jobName: 'j', finalStatus: 'ACCEPTED' };
    worker.holding('kept');
    worker.holding('dropped');
    await outbox.hold(message('kept', 's'), heldFor);
    await outbox.hold(message('dropped', 't'), { ...heldFor, submissionId: 't' });
    await sleep(100);
    expect(synapse.created).toHaveLength(0);
    await outbox.release('kept');
    await outbox.drop('dropped');
    await until(() => synapse.created.length === 1);
    await sleep(50);
    await worker.stop(1_000);
    expect(synapse.created.map((m) => m.subject)).toEqual(['subject kept']);
  });

  it("held messages of an earlier process follow the submission's status", async () => {
    const { dir, outbox } = await open();
    const heldFor = (submissionId: string) => ({ submissionId, jobName: 'j', finalStatus: 'ACCEPTED' });
    await outbox.hold(message('written', 'written'), heldFor('written'));
    await outbox.hold(message('decided-otherwise', 'other'), heldFor('other'));
    await outbox.hold(message('still-running', 'running'), heldFor('running'));
    const statuses: Record<string, SubmissionStatus> = {
      written: status('ACCEPTED', 'j'),
      other: status('RECEIVED', undefined),
      running: status('EVALUATION_IN_PROGRESS', 'j'),
    };
    const synapse = new FakeSynapse();
    const reopened = await Outbox.open(dir);
    const worker = sender(reopened, synapse, (id) => statuses[id] ?? status('RECEIVED', undefined));
    worker.start();
    await until(() => synapse.created.length === 1);
    await sleep(50);
    await worker.stop(1_000);
    expect(synapse.created.map((m) => m.subject)).toEqual(['subject written']);
    expect(reopened.get('decided-otherwise')).toBeUndefined();
    expect(reopened.get('still-running')?.state).toBe('held');
  });
});

function status(value: SubmissionStatus['status'], job: string | undefined): SubmissionStatus {
  return {
    id: 'x',
    etag: 'e',
    status: value,
    annotations: { stringAnnos: job === undefined ? [] : [{ key: 'job', value: job, isPrivate: true }] },
  } as SubmissionStatus;
}
