# Checks a submission against the gold standard's ids (run in local/busybox:1 by steps/validate.cwl):
#   awk -f validate.awk goldstandard.csv submission.csv > validated.csv
# A valid submission is a CSV with an `id` and a `score` column (any order, extra columns ignored), one row
# per gold-standard id, each score a number from 0 to 1. It is written back as plain `id,score` rows.
# The first problem found ends the step with exit 1 and ONE line on stderr starting with
# "invalid submission:", because the participant's failure message quotes the last lines of the log.

function fail(message) {
  print "invalid submission: " message > "/dev/stderr"
  failed = 1
  exit 1
}

function trim(text) {
  gsub(/^[ \t"]+|[ \t"]+$/, "", text)
  return text
}

BEGIN { FS = "," }

{ sub(/\r$/, "") }

# The gold standard (first file): id,label; remember the ids in order.
FNR == NR {
  if (FNR > 1 && $0 != "") {
    expected[$1] = 1
    order[++ngold] = $1
  }
  next
}

# The submission's header.
FNR == 1 {
  gotheader = 1
  header = $0
  for (i = 1; i <= NF; i++) {
    name = tolower(trim($i))
    if (name == "id" && idcol == 0) idcol = i
    if (name == "score" && scorecol == 0) scorecol = i
  }
  if (idcol == 0) fail("column \"id\" is missing (header: " header ")")
  if (scorecol == 0) fail("column \"score\" is missing (header: " header ")")
  need = idcol > scorecol ? idcol : scorecol
  print "id,score"
  next
}

# Blank lines (a trailing newline, say) are allowed.
/^[ \t]*$/ { next }

{
  if (NF < need) fail("line " FNR ": expected at least " need " columns, found " NF)
  id = trim($idcol)
  value = trim($scorecol)
  if (id == "") fail("line " FNR ": the id is empty")
  if (!(id in expected)) fail("line " FNR ": unknown id \"" id "\" (not in the gold standard)")
  if (id in seen) fail("line " FNR ": id " id " appears twice (first on line " seen[id] ")")
  seen[id] = FNR
  if (value !~ /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/)
    fail("line " FNR " (id " id "): score \"" value "\" is not a number")
  if (value + 0 < 0 || value + 0 > 1) fail("line " FNR " (id " id "): score " value " is not between 0 and 1")
  rows++
  print id "," value
}

END {
  if (failed) exit 1
  if (!gotheader) fail("the file is empty (expected a header line: id,score)")
  missing = ""
  count = 0
  for (i = 1; i <= ngold; i++) {
    if (!(order[i] in seen)) {
      missing = missing (count > 0 ? ", " : "") order[i]
      count++
    }
  }
  if (count > 0) fail("missing ids: " missing " (" ngold " expected, " rows + 0 " given)")
  print "valid submission: " rows " rows, one per gold-standard id" > "/dev/stderr"
}
