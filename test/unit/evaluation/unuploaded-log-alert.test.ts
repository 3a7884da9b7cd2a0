/** The organizers' message about a final log that could not be stored. */
import { describe, expect, it } from 'vitest';
import type { LostRight } from '../../../src/evaluation/lost-rights.js';
import { unuploadedLogAlert, type UnuploadedLog } from '../../../src/evaluation/unuploaded-log-alert.js';
import type { Submission } from '../../../src/synapse/types.js';

const submission = { id: '9731', evaluationId: '9614', userId: '3000002' } as Submission;
const KEPT_IN = '/srv/orchestrator/unuploaded-logs';
const log = (keptAt: string | undefined): UnuploadedLog => ({
  submission,
  folderId: 'syn10',
  error: new Error('403 Forbidden'),
  keptAt,
  keptIn: KEPT_IN,
});
const lost: LostRight = {
  right: 'CREATE',
  entityId: 'syn10',
  folderId: 'syn10',
  account: { principalId: '3000001', userName: 'orchestrator-bot' },
  missing: ['CREATE', 'UPDATE'],
  aclOn: 'syn10',
};

describe('unuploadedLogAlert', () => {
  it('a lost right is one alert per queue and right, and says later submissions are kept without another message', () => {
    const alert = unuploadedLogAlert(log(`${KEPT_IN}/9731_logs.txt`), lost);
    expect(alert.key).toBe('lost-right:9614:CREATE');
    expect(alert.body).toContain(`The log is kept on the Docker host at ${KEPT_IN}/9731_logs.txt`);
    expect(alert.body).toContain('nothing deletes it, so remove it once read');
    expect(alert.body).toContain(
      `Later submissions that hit the same problem are finished the same way and their final logs kept in ${KEPT_IN} as well, without another message`,
    );
    expect(alert.body).toContain('at warn level ("Kept the final log that could not be uploaded")');
  });

  it('any other failure is reported per submission', () => {
    const alert = unuploadedLogAlert(log(undefined), undefined);
    expect(alert.key).toBe('log-upload:9731');
    expect(alert.body).toBe(
      "The final log of submission 9731 (evaluation queue 9614) could not be uploaded: 403 Forbidden\nThe log could not be kept either (see the orchestrator's own log).",
    );
  });
});
