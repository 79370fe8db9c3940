// Keeps the layers of docs/architecture.md true: imports point inward only
// (domain <- ports <- app <- adapters <- main), and adapters never import each other.
const adapters = '^src/(store|sip|media|provisioning|admin|config|observability|webhooks)/|^src/(main|cli|compose-calls)[.]ts$';
module.exports = {
  forbidden: [
    { name: 'domain-is-pure', severity: 'error', from: { path: '^src/domain/' }, to: { path: '^src/(?!domain/)', pathNot: '^node_modules' } },
    { name: 'domain-no-io-modules', severity: 'error', from: { path: '^src/domain/' }, to: { dependencyTypes: ['core'], pathNot: '^(crypto|node:crypto)$' } },
    { name: 'ports-only-domain', severity: 'error', from: { path: '^src/ports/' }, to: { path: '^src/(?!domain/|ports/)' } },
    { name: 'app-no-adapters', severity: 'error', from: { path: '^src/app/' }, to: { path: adapters } },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/(store|sip/[^/]+|media/[^/]+|provisioning|admin|webhooks)/' },
      to: { path: '^src/(store|sip|media|provisioning|admin|webhooks)/', pathNot: '^src/$1/' },
    },
    {
      name: 'only-the-composition-root-imports-it',
      severity: 'error',
      from: { pathNot: '^src/(cli|main)[.]ts$' },
      to: { path: '^src/(main|compose-calls)[.]ts$' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test|bench)/' },
  },
};
