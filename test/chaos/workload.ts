/**
 * The workloads, and the right ending of each. A queue's template is one CWL CommandLineTool that runs a
 * shell script inside the engine container (no step container, no call to the platform). The script
 * picks its workload from the submission id and a salt from the run's seed, with the same arithmetic as
 * `kindOf` below, so the harness knows every submission's right ending without telling the template:
 *
 * - ok: numbered lines over a few seconds, then exit 0 → ACCEPTED, "finished"
 * - fail: the same, then exit 3 (cwltool then exits 1) → INVALID, "failed"
 * - loud: 30,000 lines (about 2.5 MB) at once, then a few seconds → ACCEPTED, "finished"
 * - cancel: numbered lines for two minutes; the harness asks to cancel it once it runs → INVALID,
 *   STOPPED UPON REQUEST, "was stopped" (ending ACCEPTED means the cancel was lost)
 *
 * Every line is `chaos-line <id> <n>` (n from 1, no gaps), the last one `chaos-end <id>`, so a stored log
 * shows whether it is complete and whether a line was lost or written twice.
 */
import { zipBytes } from '../support/archives.js';

export type Kind = 'ok' | 'fail' | 'loud' | 'cancel';

/** How a submission must end. `cancelled-before-start` never runs. */
export type Plan = Kind | 'cancelled-before-start';

export interface RightEnding {
  status: 'ACCEPTED' | 'INVALID';
  statusDescription: 'DONE' | 'ERROR' | 'STOPPED UPON REQUEST';
  /** The one final message, by the word its subject uses. */
  finalMessage: 'finished' | 'failed' | 'was stopped';
  /** A container runs, a "started" message goes out and a log is stored. */
  runs: boolean;
}

export const RIGHT_ENDING: Record<Plan, RightEnding> = {
  ok: { status: 'ACCEPTED', statusDescription: 'DONE', finalMessage: 'finished', runs: true },
  loud: { status: 'ACCEPTED', statusDescription: 'DONE', finalMessage: 'finished', runs: true },
  fail: { status: 'INVALID', statusDescription: 'ERROR', finalMessage: 'failed', runs: true },
  cancel: {
    status: 'INVALID',
    statusDescription: 'STOPPED UPON REQUEST',
    finalMessage: 'was stopped',
    runs: true,
  },
  'cancelled-before-start': {
    status: 'INVALID',
    statusDescription: 'STOPPED UPON REQUEST',
    finalMessage: 'was stopped',
    runs: false,
  },
};

/** Shares out of 100: ok 55, fail 20, loud 10, cancel 15. */
const BOUNDS: [Kind, number][] = [
  ['ok', 55],
  ['fail', 75],
  ['loud', 85],
  ['cancel', 100],
];

const MULTIPLIER = 1103515245n;
const MODULUS = 1000003n;

export const saltOf = (seed: number): number => (seed * 7919 + 17) % 1_000_000;

function hashOf(submissionId: string, salt: number): bigint {
  return (BigInt(submissionId) * MULTIPLIER + BigInt(salt)) % MODULUS;
}

export function kindOf(submissionId: string, salt: number): Kind {
  const k = Number(hashOf(submissionId, salt) % 100n);
  for (const [kind, bound] of BOUNDS) if (k < bound) return kind;
  return 'ok';
}

/** Seconds the ok, fail and loud workloads take (4 to 8). */
export function secondsOf(submissionId: string, salt: number): number {
  return 4 + Number((hashOf(submissionId, salt) / 100n) % 5n);
}

/** Lines the ok and fail workloads print: four a second. */
export const linesOf = (submissionId: string, salt: number): number => secondsOf(submissionId, salt) * 4;
export const LOUD_LINES = 30_000;
export const CANCEL_LINES = 480;

/** The script; `$1` is the submission id. Same arithmetic as kindOf and secondsOf. */
function script(salt: number): string {
  return `#!/bin/sh
id=$1
h=$(( (id * ${MULTIPLIER} + ${salt}) % ${MODULUS} ))
k=$(( h % 100 ))
s=$(( 4 + (h / 100) % 5 ))
lines() { i=1; while [ $i -le $1 ]; do echo "chaos-line $id $i"; i=$((i + 1)); sleep $2; done; }
if [ $k -lt 55 ]; then
  lines $((s * 4)) 0.25; echo "chaos-end $id"; exit 0
elif [ $k -lt 75 ]; then
  lines $((s * 4)) 0.25; echo "chaos-end $id"; exit 3
elif [ $k -lt 85 ]; then
  i=1; pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  while [ $i -le ${LOUD_LINES} ]; do echo "chaos-line $id $i $pad"; i=$((i + 1)); done
  sleep $s; echo "chaos-end $id"; exit 0
else
  lines ${CANCEL_LINES} 0.25; echo "chaos-end $id"; exit 0
fi
`;
}

const WORKFLOW = `cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh]
arguments: [$(inputs.script.path), $(inputs.submissionId)]
inputs:
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  synapseConfig: File
  workflowSynapseId: string
  script:
    type: File
    default:
      class: File
      location: work.sh
outputs: []
`;

export const ROOT_TEMPLATE = 'chaos/workflow.cwl';

/** The template archive every queue uses. */
export function templateArchive(salt: number): Promise<Buffer> {
  return zipBytes([
    { name: ROOT_TEMPLATE, data: WORKFLOW },
    { name: 'chaos/work.sh', data: script(salt) },
  ]);
}
