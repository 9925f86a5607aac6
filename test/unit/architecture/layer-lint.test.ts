// The layer order is a lint rule (eslint.config.js, from eslint.layers.js): an import from a
// layer above fails `npm run lint`, one from below passes. Run with ESLint's own API on texts
// placed in src/. ESLint 9 needs Node 18, so the Node 16 unit runner leaves this file out
// (vitest.unit.node16.config.mjs): it checks the developer's tooling, not what ships.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function layerErrors(filePath: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer lint rule', () => {
  it('fails an import from a layer above (plan importing steps, run importing cli)', async () => {
    expect(await layerErrors('src/plan/zz-layer-probe.ts', "import { stepById } from '../steps/catalog.js';\nexport const probe = stepById;\n")).toEqual([
      expect.stringContaining('steps is not below this layer'),
    ]);
    expect(await layerErrors('src/run/zz-layer-probe.ts', "import { runTaskList } from '../cli/task-list.js';\nexport const probe = runTaskList;\n")).toEqual([
      expect.stringContaining('cli is not below this layer'),
    ]);
  });

  it('passes an import from a layer below, and keeps the door rules', async () => {
    expect(await layerErrors('src/steps/zz-layer-probe.ts', "import { stopWaves } from '../plan/container-order.js';\nexport const probe = stopWaves;\n")).toEqual([]);
    expect(await layerErrors('src/steps/zz-layer-probe.ts', "import Docker from 'dockerode';\nexport const probe = Docker;\n")).toEqual([
      expect.stringContaining('Only src/docker talks to Docker'),
    ]);
  });
});
