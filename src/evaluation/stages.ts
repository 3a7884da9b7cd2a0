/**
 * EXECUTION_STAGE's status triples (swo-spec §1.2): which status a submission waits in, which marks it
 * running, and which marks success. Failure is INVALID in every stage.
 */
import type { ExecutionStage } from '../config/config.js';
import type { SubmissionStatusEnum } from '../synapse/types.js';

export interface StageStatuses {
  waiting: SubmissionStatusEnum;
  running: SubmissionStatusEnum;
  succeeded: SubmissionStatusEnum;
  failed: SubmissionStatusEnum;
}

const STAGES: Record<ExecutionStage, StageStatuses> = {
  ALL: { waiting: 'RECEIVED', running: 'EVALUATION_IN_PROGRESS', succeeded: 'ACCEPTED', failed: 'INVALID' },
  VALIDATION: { waiting: 'RECEIVED', running: 'OPEN', succeeded: 'VALIDATED', failed: 'INVALID' },
  EXECUTION: {
    waiting: 'VALIDATED',
    running: 'EVALUATION_IN_PROGRESS',
    succeeded: 'ACCEPTED',
    failed: 'INVALID',
  },
};

export function stageStatuses(stage: ExecutionStage): StageStatuses {
  return STAGES[stage];
}
