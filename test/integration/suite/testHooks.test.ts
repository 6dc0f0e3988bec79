import * as assert from 'node:assert/strict';

import * as vscode from 'vscode';

import type { ServalTestingApi } from '../../../src/extension/extension';

describe('test hooks', () => {
  it("keep 0.1's names on the context in a test host: ctx.lastFailure and ctx.lastRun read and clear the hooks", async () => {
    const api = await vscode.extensions.getExtension<ServalTestingApi>('serval.serval-vscode')!.activate();
    const hooks = api.hooks!;
    const context = api.ctx as unknown as { lastFailure?: unknown; lastRun?: unknown };
    const saved = { failure: hooks.lastFailure, run: hooks.lastRun };
    try {
      hooks.didFail({ command: 'serval.publish', message: 'shown to the user' });
      assert.deepEqual(context.lastFailure, { command: 'serval.publish', message: 'shown to the user' });
      context.lastFailure = undefined;
      assert.equal(hooks.lastFailure, undefined);
      context.lastRun = undefined;
      assert.equal(hooks.lastRun, undefined);
    } finally {
      hooks.lastFailure = saved.failure;
      hooks.lastRun = saved.run;
    }
  });
});
