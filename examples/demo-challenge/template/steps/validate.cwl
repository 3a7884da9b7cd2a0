#!/usr/bin/env cwl-runner
# Checks the submission's format and ids against the gold standard (scripts/validate.awk) in a busybox
# step container. A bad file fails the step, and so the workflow, with one "invalid submission: …" line.
# The valid rows are passed on as validated.csv (id,score).
cwlVersion: v1.0
class: CommandLineTool

requirements:
  DockerRequirement:
    dockerPull: local/busybox:1

baseCommand: awk
arguments: [-f, $(inputs.script.path), $(inputs.goldstandard.path), $(inputs.submission.path)]
stdout: validated.csv

inputs:
  submission: File
  goldstandard:
    type: File
    default:
      class: File
      location: ../goldstandard.csv
  script:
    type: File
    default:
      class: File
      location: ../scripts/validate.awk

outputs:
  validated:
    type: stdout
