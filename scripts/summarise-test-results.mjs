// Reads vitest JSON reports and prints one closing line: "tests: N passed, N failed[, N skipped]".
// Exits non-zero when a report is missing (its run crashed before reporting) or when anything failed.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`no test report at ${file}: that test run did not finish`);
    missing += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  // A file that failed to load has failed suites but no failed tests; count it once.
  failed += report.numFailedTests > 0 ? report.numFailedTests : report.numFailedTestSuites;
  skipped += report.numPendingTests + report.numTodoTests;
}
const skippedText = skipped > 0 ? `, ${skipped} skipped` : '';
console.log(`\ntests: ${passed} passed, ${failed + missing} failed${skippedText}`);
process.exit(failed + missing > 0 ? 1 : 0);
