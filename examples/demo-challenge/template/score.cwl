#!/usr/bin/env cwl-runner
# The "Leaderboard round" queue's entry point (ROOT_TEMPLATE): download the submitted CSV, validate it,
# score it against goldstandard.csv, and annotate the submission with the score. The inputs are exactly
# the five the orchestrator (like SWO) puts in the job file.
cwlVersion: v1.0
class: Workflow

inputs:
  submissionId: int
  adminUploadSynId: string
  submitterUploadSynId: string
  synapseConfig: File
  workflowSynapseId: string

outputs:
  results:
    type: File
    outputSource: score/score

steps:
  download:
    run: steps/download.cwl
    in:
      submissionId: submissionId
      synapseConfig: synapseConfig
    out: [submission]
  validate:
    run: steps/validate.cwl
    in:
      submission: download/submission
    out: [validated]
  score:
    run: steps/score.cwl
    in:
      predictions: validate/validated
    out: [score]
  annotate:
    run: steps/annotate.cwl
    in:
      submissionId: submissionId
      synapseConfig: synapseConfig
      score: score/score
    out: []
