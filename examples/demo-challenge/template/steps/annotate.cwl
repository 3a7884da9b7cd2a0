#!/usr/bin/env cwl-runner
# Publishes score.json on the submission as the annotations `score` (DOUBLE) and `rows_scored` (LONG)
# (scripts/annotate.mjs). Like download.cwl it runs in the engine container, with node and the token.
cwlVersion: v1.0
class: CommandLineTool

baseCommand: node
arguments:
  - $(inputs.scripts.path)/annotate.mjs
  - $(inputs.synapseConfig.path)
  - $(inputs.submissionId)
  - $(inputs.score.path)

inputs:
  submissionId: int
  synapseConfig: File
  score: File
  scripts:
    type: Directory
    default:
      class: Directory
      location: ../scripts

outputs: []
