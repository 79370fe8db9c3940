// Tests run from TypeScript sources through tsx; `npm test` type-checks first (tsc).
module.exports = {
  require: ['tsx/cjs'],
  extension: ['ts'],
  spec: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/integration/**/*.test.ts'],
  timeout: 20000,
  exit: true,
};
