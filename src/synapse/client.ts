/**
 * The Synapse client: one object with an API per area, all over one transport (auth, retries, errors).
 * The same code talks to Synapse and to the local platform; only the endpoint differs.
 */
import type { SynapseEndpoint } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { AclApi } from './acl.js';
import { EntityApi } from './entities.js';
import { EvaluationApi } from './evaluations.js';
import { FileApi } from './files.js';
import { SynapseHttp, type HttpObserver } from './http.js';
import { MessageApi, type MessageApiOptions } from './messages.js';
import { ProfileApi } from './profiles.js';
import type { RetryHooks, RetryPolicy } from './retry.js';

export interface SynapseClientOptions {
  endpoint: SynapseEndpoint;
  token: string;
  retry?: Partial<RetryPolicy>;
  retryHooks?: RetryHooks;
  messages?: MessageApiOptions;
  logger?: Logger;
  /** Told about every call (the daemon's metrics). */
  observer?: HttpObserver;
}

export class SynapseClient {
  readonly http: SynapseHttp;
  readonly profiles: ProfileApi;
  readonly evaluations: EvaluationApi;
  readonly entities: EntityApi;
  readonly acl: AclApi;
  readonly files: FileApi;
  readonly messages: MessageApi;

  constructor(options: SynapseClientOptions) {
    this.http = new SynapseHttp({
      endpoint: options.endpoint,
      token: options.token,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.retryHooks === undefined ? {} : { retryHooks: options.retryHooks }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.profiles = new ProfileApi(this.http);
    this.evaluations = new EvaluationApi(this.http, options.logger);
    this.entities = new EntityApi(this.http);
    this.acl = new AclApi(this.http);
    this.files = new FileApi(this.http);
    this.messages = new MessageApi(this.http, this.files, options.messages);
  }
}
