/**
 * Requests shaped as Synapse's Python client (synapseclient 2.x and 3.x, and challengeutils on top of it)
 * sends them, for tests of the local platform's compatibility with it:
 * - every REST call carries `content-type: application/json; charset=UTF-8` and the same Accept, even a
 *   PUT, POST or DELETE without a body (then an empty body with Content-Length 0);
 * - the bearer token goes with every request to a URL on the repository endpoint's host and port, and
 *   with none elsewhere (the client's `_is_synapse_uri` compares the netloc), presigned URLs included;
 * - ids are sent as the client has them (strings), nulls included (`"teamId": null`).
 *
 * synapseclient 4.x keeps these habits. Its legacy `syn.*` methods still go through requests; its models
 * (`synapseclient.models`) and its uploads and downloads go through httpx, with the same JSON headers and
 * the same rule for the token; a model GET has no body at all.
 */

export interface ClientResponse<T = unknown> {
  status: number;
  headers: Headers;
  data: T;
}

export type Api = 'repo' | 'file' | 'auth';

const JSON_TYPE = 'application/json; charset=UTF-8';

export class PythonClientShape {
  readonly baseUrl: string;
  private readonly token: string;
  readonly userAgent: string;

  constructor(baseUrl: string, token: string, version = '2.7.2', transport = 'python-requests/2.31.0') {
    this.baseUrl = baseUrl;
    this.token = token;
    this.userAgent = `synapseclient/${version} ${transport}`;
  }

  /** The client's rule for the Authorization header: only for the repository endpoint's host and port. */
  sendsTokenTo(url: string): boolean {
    return new URL(url).host.toLowerCase() === new URL(this.baseUrl).host.toLowerCase();
  }

  private headersFor(url: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      'user-agent': this.userAgent,
      ...(this.sendsTokenTo(url) ? { authorization: `Bearer ${this.token}` } : {}),
      ...extra,
    };
  }

  /** restGET/restPOST/restPUT/restDELETE: JSON in, JSON (or nothing) out. */
  async rest<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    api: Api,
    path: string,
    body?: unknown,
  ): Promise<ClientResponse<T>> {
    const url = `${this.baseUrl}/${api}/v1${path}`;
    const response = await fetch(url, {
      method,
      headers: this.headersFor(url, { 'content-type': JSON_TYPE, accept: JSON_TYPE }),
      // The client sends an empty body (Content-Length: 0) where it has nothing to say.
      ...(method === 'GET' ? {} : { body: body === undefined ? '' : JSON.stringify(body) }),
    });
    const text = await response.text();
    let data: unknown = text;
    if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) {
      data = JSON.parse(text) as unknown;
    }
    return { status: response.status, headers: response.headers, data: data as T };
  }

  /** A GET of a URL outside the REST API (a presigned URL), optionally a byte range. */
  async download(url: string, range?: string): Promise<ClientResponse<Buffer>> {
    const response = await fetch(url, {
      headers: this.headersFor(url, range === undefined ? {} : { range }),
      redirect: 'manual',
    });
    return {
      status: response.status,
      headers: response.headers,
      data: Buffer.from(await response.arrayBuffer()),
    };
  }

  /** A part PUT to a presigned URL: the bytes and the URL's signed headers, no content type of its own. */
  async putPart(url: string, bytes: Buffer, signedHeaders: Record<string, string> = {}) {
    const response = await fetch(url, {
      method: 'PUT',
      headers: this.headersFor(url, signedHeaders),
      body: bytes,
    });
    return { status: response.status, headers: response.headers, data: await response.text() };
  }
}
