#!/usr/bin/env cwl-runner
# The final round's simulated model run (scripts/inference.sh): about `seconds` seconds, with progress
# 0..100 written to /progress.txt. No DockerRequirement, on purpose: the orchestrator reads
# /progress.txt inside the ENGINE container, so this tool must run there, not in a step container.
cwlVersion: v1.0
class: CommandLineTool

baseCommand: sh
arguments: [$(inputs.script.path), $(inputs.validated.path), $(inputs.seconds)]

inputs:
  validated: File
  seconds:
    type: int
    default: 30
  script:
    type: File
    default:
      class: File
      location: ../scripts/inference.sh

outputs:
  predictions:
    type: File
    outputBinding:
      glob: predictions.csv
