# Scores a validated submission (run in local/busybox:1 by steps/score.cwl):
#   awk -f score.awk goldstandard.csv validated.csv > score.json
# The metric is 1 - mean absolute error between the submitted scores and the gold-standard labels (0 or 1),
# so 1 is perfect and always answering 0.5 gets 0.5. Rounded to 4 decimals; the row order does not matter.

BEGIN { FS = "," }

{ sub(/\r$/, "") }

FNR == NR {
  if (FNR > 1 && $0 != "") label[$1] = $2
  next
}

FNR > 1 && $0 != "" {
  difference = $2 - label[$1]
  total += difference < 0 ? -difference : difference
  rows++
}

END {
  if (rows == 0) {
    print "score: nothing to score" > "/dev/stderr"
    exit 1
  }
  score = sprintf("%.4f", 1 - total / rows)
  printf "{\"score\": %s, \"rows_scored\": %d, \"metric\": \"1 - mean absolute error\"}\n", score, rows
  print "score: " score " (1 - mean absolute error over " rows " rows)" > "/dev/stderr"
}
