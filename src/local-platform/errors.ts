/** Errors the local platform's handlers throw; the server turns them into Synapse's error bodies. */

export class PlatformError extends Error {
  readonly status: number;
  /** Throttle (429) bodies carry no concreteType, as on the real server. */
  readonly bare: boolean;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    reason: string,
    options: { bare?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(reason);
    this.status = status;
    this.bare = options.bare ?? false;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (reason: string) => new PlatformError(400, reason);
export const forbidden = (reason: string) => new PlatformError(403, reason);
export const notFound = (reason: string) => new PlatformError(404, reason);
export const conflict = (reason: string) => new PlatformError(409, reason);
export const preconditionFailed = (reason: string) => new PlatformError(412, reason);
export const tooManyRequests = (reason: string) => new PlatformError(429, reason, { bare: true });
