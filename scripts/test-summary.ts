/** Prints the closing line of a test run (`N passed, N failed`, and skipped) from vitest's JSON report. */
import { existsSync, readFileSync } from 'node:fs'

const file = new URL('../.run/test-results.json', import.meta.url)
if (!existsSync(file)) {
  console.log('tests: 0 passed, 1 failed (no report: the test run did not complete)')
  process.exit(0)
}
const r = JSON.parse(readFileSync(file, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number }
const skipped = r.numPendingTests + r.numTodoTests
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`)
