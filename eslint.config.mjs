// Lint rules for src, test and bench (TypeScript) and the admin portal's browser modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// A promise's .catch handler that does nothing and says nothing hides failures:
// it must log, or hold a comment saying why nothing can be done.
const silentCatchHandler = {
  meta: {
    type: 'problem',
    messages: { silent: 'Empty .catch handler: log the error, or say in a comment why nothing can be done.' },
    schema: [],
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const isNothing = (body) => (body.type === 'BlockStatement' && body.body.length === 0) || (body.type === 'Identifier' && body.name === 'undefined');
    const isStatement = (n) => /(Statement|Declaration)$/.test(n.type);
    // The outermost statement that starts on the handler's line: a comment above that line is about it.
    const statementOf = (node) => {
      let n = node;
      while (n.parent && !isStatement(n)) n = n.parent;
      for (let up = n.parent; up; up = up.parent) {
        if (isStatement(up) && up.loc.start.line === n.loc.start.line) n = up;
        else if (up.loc.start.line !== n.loc.start.line) break;
      }
      return n;
    };
    // A comment inside the handler, just above its statement, or trailing on the statement's line explains it.
    const explained = (handler) => {
      const statement = statementOf(handler);
      const trailing = sourceCode.getCommentsAfter(statement).filter((c) => c.loc.start.line === statement.loc.end.line);
      return sourceCode.getCommentsInside(handler).length + sourceCode.getCommentsBefore(statement).length + trailing.length > 0;
    };
    return {
      'CallExpression[callee.type="MemberExpression"][callee.property.name="catch"]'(node) {
        const handler = node.arguments[0];
        if (!handler || (handler.type !== 'ArrowFunctionExpression' && handler.type !== 'FunctionExpression')) return;
        if (!isNothing(handler.body)) return;
        if (explained(handler)) return;
        context.report({ node: handler, messageId: 'silent' });
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // An empty catch block must at least say in a comment why nothing can be done.
      'no-empty': ['error', { allowEmptyCatch: false }],
      // Input validation rejects control characters on purpose, with regular expressions that name them.
      'no-control-regex': 'off',
      // `import x = require('m')` is the TypeScript form for CommonJS modules that export a function or class.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // A `let` read by a callback that may run before its assignment cannot be `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The admin portal's browser modules: plain ES modules served as they are.
    files: ['src/admin/web/static/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'sessionStorage',
          'fetch',
          'URL',
          'URLSearchParams',
          'Blob',
          'Node',
          'setTimeout',
          'setInterval',
          'clearTimeout',
          'clearInterval',
          'requestAnimationFrame',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.js'],
    plugins: { papgate: { rules: { 'no-silent-catch-handler': silentCatchHandler } } },
    rules: { 'papgate/no-silent-catch-handler': 'error' },
  },
);
