/**
 * A platform call's path as a metric label: the route, never the values in it. Ids, entity ids, upload
 * ids and names become placeholders, so `/repo/v1/evaluation/submission/9612345/status` is counted as
 * `/repo/v1/evaluation/submission/{id}/status`, the number of label values stays small, and nothing a
 * participant chose (a team or queue name) or a credential ever reaches /metrics.
 *
 * Only the words Synapse's REST API uses for its resources are kept as they are; any other segment is a
 * value. A new route whose words are missing here is still safe: it shows placeholders where it should
 * show words, and the unit test for the client's routes says which.
 */

/** Path words of the Synapse routes this project calls (repo, file and auth APIs). */
const ROUTE_WORDS = new Set([
  'repo',
  'file',
  'auth',
  'v1',
  'access',
  'acl',
  'add',
  'all',
  'annotations2',
  'batch',
  'benefactor',
  'bundle',
  'bundle2',
  'cancellation',
  'child',
  'children',
  'complete',
  'dockerCommit',
  'dockerTag',
  'entity',
  'evaluation',
  'externalFileHandle',
  'filehandles',
  'fileHandle',
  'message',
  'multipart',
  'name',
  'outbox',
  'presigned',
  'status',
  'submission',
  'submissionEligibility',
  'team',
  'url',
  'userProfile',
  'version',
  'versions',
]);

/** What a value segment becomes, by its shape. */
function placeholder(segment: string, previous: string | undefined): string {
  if (previous === 'name') return '{name}';
  if (/^syn\d+(\.\d+)?$/i.test(segment)) return '{synId}';
  if (/^\d+$/.test(segment)) return '{id}';
  return '{value}';
}

/** The route of a platform API path (`/repo/v1/...`, no query); see the module comment. */
export function endpointTemplate(path: string): string {
  const withoutQuery = path.split(/[?#]/, 1)[0] ?? '';
  const segments = withoutQuery.split('/');
  const out: string[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] ?? '';
    const afterName = segments[index - 1] === 'name' && index > 3;
    if (segment === '' || (ROUTE_WORDS.has(segment) && !afterName)) {
      out.push(segment);
      continue;
    }
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // not valid percent-encoding: a value anyway
    }
    out.push(placeholder(decoded, segments[index - 1]));
  }
  return out.join('/') || '/';
}

/** The label of a call to a presigned or external URL (object store, registry): never its path or host. */
export const EXTERNAL_ENDPOINT = '(presigned URL)';
