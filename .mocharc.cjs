// Tests run from TypeScript sources through tsx; `npm test` type-checks first (tsc).
// Naming test files on the command line runs just those; otherwise every tier runs.
// The root hook plugin lists tiers skipped for a missing tool (and fails the run with CI set).
// `papgate serve` defaults to one provisioning worker per core; child processes
// the tests start run as one process unless a test asks for workers.
process.env.PAPGATE_WORKERS ??= '1';
const named = process.argv.slice(2).some((a) => a.endsWith('.ts'));
module.exports = {
  require: ['tsx/cjs', './test/helpers/tool-report-hooks.ts'],
  extension: ['ts'],
  spec: named ? [] : ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/browser/**/*.test.ts'],
  timeout: 20000,
  exit: true,
};
