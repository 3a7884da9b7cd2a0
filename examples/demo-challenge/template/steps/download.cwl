#!/usr/bin/env cwl-runner
# Downloads the submitted file as submission.csv. No DockerRequirement: it runs inside the engine
# container, which has node 18, and reaches Synapse with the token in synapseConfig (scripts/download.mjs).
cwlVersion: v1.0
class: CommandLineTool

baseCommand: node
arguments:
  - $(inputs.scripts.path)/download.mjs
  - $(inputs.synapseConfig.path)
  - $(inputs.submissionId)
  - submission.csv

inputs:
  submissionId: int
  synapseConfig: File
  scripts:
    type: Directory
    default:
      class: Directory
      location: ../scripts

outputs:
  submission:
    type: File
    outputBinding:
      glob: submission.csv
