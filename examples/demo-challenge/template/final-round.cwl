#!/usr/bin/env cwl-runner
# The "Final round" queue's entry point (ROOT_TEMPLATE): as score.cwl, plus a simulated ~30 s "inference"
# step between validation and scoring that reports its progress through /progress.txt.
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
  inference:
    run: steps/inference.cwl
    in:
      validated: validate/validated
    out: [predictions]
  score:
    run: steps/score.cwl
    in:
      predictions: inference/predictions
    out: [score]
  annotate:
    run: steps/annotate.cwl
    in:
      submissionId: submissionId
      synapseConfig: synapseConfig
      score: score/score
    out: []
