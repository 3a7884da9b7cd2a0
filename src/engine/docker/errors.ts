/**
 * What a Dockerode error says: Docker's HTTP status, Docker's own words, and whether the engine answered at
 * all. Shared by the Docker backend's files.
 */
/** The HTTP status of a Dockerode error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Docker's own words from a Dockerode error, without the "(HTTP code …) …" wrapping. */
export function reasonOf(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  if (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    return (json as { message: string }).message.trim();
  }
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(message);
  return (wrapped?.[1] ?? message).trim();
}

/** True for failures to reach the engine at all (no HTTP answer), as opposed to the engine saying no. */
export function isConnectionError(error: unknown): boolean {
  return statusOf(error) === undefined && typeof (error as { code?: unknown } | null)?.code === 'string';
}
