#!/usr/bin/env cwl-runner
# Scores validated predictions against the gold standard (scripts/score.awk: 1 - mean absolute error) in
# a busybox step container, writing score.json: {"score": …, "rows_scored": …, "metric": …}.
cwlVersion: v1.0
class: CommandLineTool

requirements:
  DockerRequirement:
    dockerPull: local/busybox:1

baseCommand: awk
arguments: [-f, $(inputs.script.path), $(inputs.goldstandard.path), $(inputs.predictions.path)]
stdout: score.json

inputs:
  predictions: File
  goldstandard:
    type: File
    default:
      class: File
      location: ../goldstandard.csv
  script:
    type: File
    default:
      class: File
      location: ../scripts/score.awk

outputs:
  score:
    type: stdout
