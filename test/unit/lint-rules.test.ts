import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(__dirname, '..', '..');

/** The rule ids the project's lint configuration reports for `code` placed in `file`. */
async function findings(code: string, file = 'src/app/probe.ts'): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('lint rules: failures are not swallowed silently', function () {
  this.timeout(60_000); // the first lint loads the TypeScript parser

  it('refuses an empty catch block and an empty .catch handler in src', async () => {
    const code = [
      'export async function f(p: Promise<void>): Promise<void> {',
      '  try { await p; } catch {}',
      '  await p.catch(() => undefined);',
      '  p.catch(() => {});',
      '  p.catch(function () {});',
      '  // a comment about the loop, not the handler on the next line',
      '  for (;;) {',
      '    p.catch(() => {});',
      '    break;',
      '  }',
      '}',
    ].join('\n');
    assert.deepEqual(await findings(code), [
      'no-empty',
      'papgate/no-silent-catch-handler',
      'papgate/no-silent-catch-handler',
      'papgate/no-silent-catch-handler',
      'papgate/no-silent-catch-handler',
    ]);
  });

  it('accepts handlers that log or say why nothing can be done', async () => {
    const code = [
      'declare const log: { warn(o: object, m: string): void };',
      'export async function f(p: Promise<void>): Promise<void> {',
      '  try { await p; } catch {',
      '    // the socket is gone: nothing to free',
      '  }',
      '  p.catch((err) => log.warn({ err }, "failed"));',
      '  p.catch(() => undefined); // a late failure has nobody left to tell',
      '  // closing after a failure: the failure is what gets reported',
      '  await p.catch(() => undefined);',
      '  p.catch(() => { /* already reported */ });',
      '  // a failed refresh is tried again at the next tick',
      '  if (p) p.catch(() => {});',
      '}',
    ].join('\n');
    assert.deepEqual(await findings(code), []);
  });

  it('reports an eslint-disable comment that disables nothing', async () => {
    const code = '// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const n: number = 1;\n';
    assert.equal((await findings(code)).length, 1);
  });
});
