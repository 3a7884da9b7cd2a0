/**
 * The engine image, had as the pull policy says: pulled (with the registry's credentials, retried with
 * backoff, one pull shared by the jobs that need the same image at once), or found on the engine already.
 * A failure's message names the image and Docker's reason, never a password.
 */
import type Dockerode from 'dockerode';
import type { Logger } from '../../logging/logger.js';
import { redactText } from '../../logging/redact.js';
import { ImagePullError, type PullPolicy } from '../interfaces.js';
import { isConnectionError, reasonOf, statusOf } from './errors.js';
import type { RegistryAuth } from './registry-auth.js';

export interface PullRetry {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

/** What happened when a job needed its engine image. */
export type ImageResult = 'pulled' | 'failed' | 'already_present' | 'not_allowed';

/** Told what became of each image a job needed (the daemon's metrics). */
export interface ImageObserver {
  image(result: ImageResult, pullSeconds?: number): void;
}

export interface ImagePullerOptions {
  docker: Dockerode;
  /** DOCKER_ENGINE_URL, named when the engine does not answer. */
  url: string;
  pullPolicy: PullPolicy;
  /** Default: 5 attempts, 2 s first delay, doubling, at most 30 s. */
  pull?: PullRetry;
  registryAuth: (image: string) => RegistryAuth | undefined;
  logger: Logger;
  observer?: ImageObserver;
}

const DEFAULT_PULL: PullRetry = { attempts: 5, firstDelayMs: 2_000, maxDelayMs: 30_000 };
/** Pull failures that another attempt cannot fix. */
const PERMANENT_PULL_FAILURE =
  /manifest unknown|not found|no such image|no space left on device|unauthorized|denied|authentication required|invalid reference format/i;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** A pull error event in the progress stream, e.g. {"errorDetail":{"message":"…"},"error":"…"}. */
function streamError(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { error, errorDetail } = event as { error?: unknown; errorDetail?: { message?: unknown } };
  if (typeof errorDetail?.message === 'string') return errorDetail.message;
  return typeof error === 'string' ? error : undefined;
}

/** An image ID or a reference pinned by digest: pulling again cannot change it. */
function isPinned(image: string): boolean {
  return image.startsWith('sha256:') || image.includes('@sha256:');
}

export class ImagePuller {
  private readonly docker: Dockerode;
  private readonly options: ImagePullerOptions;
  private readonly logger: Logger;
  private readonly pullRetry: PullRetry;
  /** Pulls in flight by image, so concurrent jobs on one image share a pull. */
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(options: ImagePullerOptions) {
    this.options = options;
    this.docker = options.docker;
    this.logger = options.logger;
    this.pullRetry = options.pull ?? DEFAULT_PULL;
  }

  async ensureImage(image: string): Promise<void> {
    const observer = this.options.observer;
    const policy = this.options.pullPolicy;
    if (policy === 'always' && !isPinned(image)) {
      await this.observedPull(image);
      return;
    }
    if (await this.imagePresent(image)) {
      observer?.image('already_present');
      return;
    }
    if (policy === 'never') {
      observer?.image('not_allowed');
      throw new ImagePullError(
        image,
        `Image ${image} is not on the Docker engine, and the pull policy 'never' forbids pulling it`,
      );
    }
    await this.observedPull(image);
  }

  /** A pull (shared with other jobs on the same image), its result told to the observer. */
  private async observedPull(image: string): Promise<void> {
    const began = Date.now();
    try {
      await this.pullShared(image);
    } catch (error) {
      this.options.observer?.image('failed', (Date.now() - began) / 1000);
      throw error;
    }
    this.options.observer?.image('pulled', (Date.now() - began) / 1000);
  }

  private async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw new Error(`Cannot inspect image ${image} on the Docker engine: ${reasonOf(error)}`);
    }
  }

  private async pullShared(image: string): Promise<void> {
    let pending = this.pulls.get(image);
    if (pending === undefined) {
      pending = this.pullWithRetry(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pending);
    }
    await pending;
  }

  private async pullWithRetry(image: string): Promise<void> {
    const auth = this.options.registryAuth(image);
    const { attempts, firstDelayMs, maxDelayMs } = this.pullRetry;
    const started = Date.now();
    let attempt = 0;
    let lastError: unknown;
    while (attempt < Math.max(1, attempts)) {
      attempt++;
      try {
        this.logger.info('pulling image', {
          image,
          attempt,
          withCredentials: auth !== undefined,
        });
        await this.pullOnce(image, auth);
        this.logger.info('pulled image', { image, seconds: (Date.now() - started) / 1000 });
        return;
      } catch (error) {
        lastError = error;
        const reason = this.cleanReason(reasonOf(error), auth);
        const permanent =
          PERMANENT_PULL_FAILURE.test(reason) || [400, 401, 403, 404].includes(statusOf(error) ?? 0);
        if (permanent || attempt >= attempts) break;
        const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
        this.logger.warn('image pull failed; will retry', { image, attempt, delayMs: delay, reason });
        await sleep(delay);
      }
    }
    const reason = this.cleanReason(reasonOf(lastError), auth);
    if (isConnectionError(lastError)) {
      throw new Error(
        `Could not pull image ${image}: the Docker engine at ${this.options.url} did not answer (${reason})`,
      );
    }
    throw new ImagePullError(
      image,
      `Could not pull image ${image} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${reason}`,
    );
  }

  /** One pull, followed to the end of its progress stream (an error can arrive in the stream). */
  private async pullOnce(image: string, auth: RegistryAuth | undefined): Promise<void> {
    const stream = await this.docker.pull(image, auth === undefined ? {} : { authconfig: { ...auth } });
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error, output: unknown[]) => {
        if (error !== null) {
          reject(error);
          return;
        }
        const failure = output.map(streamError).find((message) => message !== undefined);
        if (failure !== undefined) reject(new Error(failure));
        else resolve();
      });
    });
  }

  /** A reason fit for an error message: no credentials, whatever Docker echoed. */
  private cleanReason(reason: string, auth: RegistryAuth | undefined): string {
    let text = reason;
    if (auth !== undefined && auth.password !== '') text = text.split(auth.password).join('[REDACTED]');
    return redactText(text);
  }
}
