/** Metric labels for platform calls: the route, never an id, a name or a token. */
import { describe, expect, it } from 'vitest';
import { endpointTemplate } from '../../../src/observability/endpoint-template.js';

describe('endpointTemplate', () => {
  it.each([
    ['/repo/v1/evaluation/submission/9612345/status', '/repo/v1/evaluation/submission/{id}/status'],
    ['/repo/v1/evaluation/9614112/submission/bundle/all', '/repo/v1/evaluation/{id}/submission/bundle/all'],
    ['/repo/v1/evaluation/submission/9612345', '/repo/v1/evaluation/submission/{id}'],
    [
      '/repo/v1/evaluation/submission/9612345/cancellation',
      '/repo/v1/evaluation/submission/{id}/cancellation',
    ],
    ['/repo/v1/evaluation/submission/9612345/file/700', '/repo/v1/evaluation/submission/{id}/file/{id}'],
    [
      '/repo/v1/evaluation/9614112/team/3000008/submissionEligibility',
      '/repo/v1/evaluation/{id}/team/{id}/submissionEligibility',
    ],
    ['/repo/v1/entity/syn123', '/repo/v1/entity/{synId}'],
    ['/repo/v1/entity/syn123.4/acl', '/repo/v1/entity/{synId}/acl'],
    ['/repo/v1/entity/syn123/annotations2', '/repo/v1/entity/{synId}/annotations2'],
    ['/repo/v1/entity/syn123/version/3', '/repo/v1/entity/{synId}/version/{id}'],
    ['/repo/v1/entity/children', '/repo/v1/entity/children'],
    ['/repo/v1/userProfile', '/repo/v1/userProfile'],
    ['/repo/v1/userProfile/3000001', '/repo/v1/userProfile/{id}'],
    ['/repo/v1/message', '/repo/v1/message'],
    ['/file/v1/file/multipart', '/file/v1/file/multipart'],
    ['/file/v1/file/multipart/Zm9vYmFy-12/add/3', '/file/v1/file/multipart/{value}/add/{id}'],
    [
      '/file/v1/file/multipart/8f1c2d/presigned/url/batch',
      '/file/v1/file/multipart/{value}/presigned/url/batch',
    ],
    ['/file/v1/fileHandle/700', '/file/v1/fileHandle/{id}'],
  ])('%s → %s', (path, template) => {
    expect(endpointTemplate(path)).toBe(template);
  });

  it('never keeps a name, even one that is also a route word', () => {
    expect(endpointTemplate('/repo/v1/evaluation/name/My%20Challenge%20Queue')).toBe(
      '/repo/v1/evaluation/name/{name}',
    );
    expect(endpointTemplate('/repo/v1/evaluation/name/status')).toBe('/repo/v1/evaluation/name/{name}');
  });

  it('drops a query and hides anything that is not a route word', () => {
    expect(endpointTemplate('/repo/v1/evaluation/1/submission/bundle/all?status=RECEIVED&offset=10')).toBe(
      '/repo/v1/evaluation/{id}/submission/bundle/all',
    );
    expect(endpointTemplate('/repo/v1/eyJhbGciOiJIUzI1NiJ9.e30.sig/whatever')).toBe(
      '/repo/v1/{value}/{value}',
    );
    expect(endpointTemplate('/repo/v1/entity/%E0%A4%A')).toBe('/repo/v1/entity/{value}');
  });
});
