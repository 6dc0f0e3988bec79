/**
 * Component runs share a worker, its host and (glueRuntime.ts) the glue's runtime, evaluated once:
 * no run may see anything of the run before it. A C probe (test/fixtures/components/secret.c)
 * writes a secret to a static buffer, a global, the heap and the stack in one run and looks for it
 * in the next, after a plain exit, exit(3), a trap and the output limit.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadGlue } from '../../src/agent/runner/component/glue';
import { prepareComponent } from '../../src/agent/runner/component/prepare';
import { ComponentRunner } from '../../src/agent/runner/component/run';
import { MemorySink } from '../../src/agent/runner/wasi';
import { hoistRuntime } from '../../src/agent/runner/component/glueRuntime';
import { transpileComponent } from '../../src/agent/runner/component/transpile';
import { JobRunner } from '../../src/agent/runner/pool';
import type { JobOutcome } from '../../src/agent/runner/types';
import { COMPONENT_FIXTURES, componentFixture, loudify } from '../helpers/components';
import { jobOf, text } from '../helpers/runnerJobs';

const LIMITS = { timeoutMs: 5_000, memoryBytes: 16 * 1024 * 1024, outputBytes: 64 * 1024 };
/** The probe's report when it finds nothing of an earlier run. */
const CLEAN = '----\n';

describe('component runs leave nothing for the next run', function () {
  this.timeout(60_000);
  let runner: JobRunner;
  const secret = () => componentFixture('secret');
  const run = (stdin: string) => runner.run(jobOf(secret, 'secret:component', stdin));
  const stdoutOf = (outcome: JobOutcome) => (outcome.kind === 'not-runnable' ? outcome.message : text(outcome.stdout));
  const report = (outcome: JobOutcome) => stdoutOf(outcome).slice(0, CLEAN.length);

  beforeEach(() => {
    // One worker: every run lands on the thread, host and glue runtime of the run before it.
    runner = new JobRunner({ limits: LIMITS, workers: 1 });
  });
  afterEach(() => runner.close());

  it('the probe finds its secret where it is (so a clean report means something)', async () => {
    const outcome = await run('c');
    assert.equal(outcome.kind, 'exited');
    assert.equal(stdoutOf(outcome), `${CLEAN}SGHK\n`);
  });

  for (const [how, write, ended] of [
    ['a run that exits 0', 'w', (o: JobOutcome) => o.kind === 'exited' && o.exitCode === 0],
    ['a run that calls exit(3)', 'x', (o: JobOutcome) => o.kind === 'exited' && o.exitCode !== 0],
    ['a run that traps', 't', (o: JobOutcome) => o.kind === 'trapped'],
    ['a run stopped at the output limit', 'f', (o: JobOutcome) => o.kind === 'exited' && o.outputLimited],
  ] as const) {
    it(`after ${how}`, async () => {
      for (let round = 0; round < 3; round++) {
        const written = await run(write);
        assert.ok(ended(written), `round ${round}: ${JSON.stringify({ ...written, stdout: report(written), stderr: undefined })}`);
        assert.equal(report(written), CLEAN, `round ${round}: the writer itself started clean`);
        const next = await run('r');
        assert.equal(next.kind, 'exited', `round ${round}: the glue's runtime kept nothing of the last run's end`);
        assert.equal(stdoutOf(next), CLEAN, `round ${round}`);
      }
    });
  }

  it("reports a C program's exit(3) as 1: the preview1 adapter calls wasi:cli/exit exit(err), not exit-with-code", async () => {
    const module = await runner.run(jobOf(() => fs.readFile(path.join(COMPONENT_FIXTURES, 'secret.wasm')), 'secret:module', 'x'));
    const component = await run('x');
    assert.ok(module.kind === 'exited' && component.kind === 'exited');
    assert.equal(module.exitCode, 3);
    assert.equal(component.exitCode, 1);
  });
});

describe('a component instantiated ahead of its next run', () => {
  it('gives that run a fresh instance, however the run before it ended', async function () {
    this.timeout(60_000);
    const prepared = await prepareComponent(await transpileComponent(await componentFixture('secret')), LIMITS.memoryBytes);
    assert.ok(prepared.ok);
    const stdout = new MemorySink(LIMITS.outputBytes);
    const runner = new ComponentRunner(stdout, new MemorySink());
    const run = (stdin: string) => {
      const end = runner.run(prepared.executable, { stdin: new TextEncoder().encode(stdin), args: ['secret'], env: [] });
      return { end, stdout: text(stdout.take()) };
    };
    let madeAhead = 0;
    // A loaded machine can make an instantiation slow enough not to be done ahead: a few rounds.
    for (let round = 0; round < 8; round++) {
      const write = 'wxtf'[round % 4]!;
      assert.equal(run(write).stdout.slice(0, CLEAN.length), CLEAN, `round ${round}: ${write}`);
      if (runner.instantiateAhead(prepared.executable)) madeAhead++;
      const read = run('r');
      assert.deepEqual(read, { end: { kind: 'exited', exitCode: 0, outputLimited: false }, stdout: CLEAN }, `round ${round}, after ${write}`);
    }
    assert.ok(madeAhead > 0, 'the C component (its adapter\'s start code calls no host function) is instantiated ahead');
  });
});

describe("the glue's runtime, evaluated once per component and worker", () => {
  let glue: string;
  before(async () => {
    glue = (await transpileComponent(await loudify('component'))).glue;
  });

  it('is evaluated once for every committed component, C and JS', async function () {
    this.timeout(60_000);
    for (const name of ['secret', 'probe', 'spin', 'flood', 'tree', 'wasi-fs']) {
      const transpiled = await transpileComponent(await componentFixture(name));
      assert.equal(loadGlue(transpiled.glue).runtimeHoisted, true, name);
    }
    assert.equal(loadGlue(glue).runtimeHoisted, true, 'samples/loudify-component');
    const js = await transpileComponent(await fs.readFile(path.join(COMPONENT_FIXTURES, 'js', 'job.component.wasm')));
    assert.equal(loadGlue(js.glue).runtimeHoisted, true, 'the JS component (StarlingMonkey)');
  });

  /** The glue with `line` added at the top of its runtime. */
  const withRuntimeLine = (line: string) => glue.replace(/^(export function instantiate\(.*\) \{)$/m, `$1\n${line}`);

  it('stays per instantiation when the runtime holds state it does not know how to put back', () => {
    assert.notEqual(hoistRuntime(glue), undefined);
    assert.equal(hoistRuntime(withRuntimeLine('const SOME_NEW_STATE = new Map();')), undefined);
    assert.equal(hoistRuntime(withRuntimeLine('let counter = 0;')), undefined);
    assert.equal(hoistRuntime(withRuntimeLine('const a = () => 1, hidden = [];')), undefined, 'a second declarator');
    assert.equal(hoistRuntime(withRuntimeLine('const made = (() => { const kept = []; return kept; })();')), undefined, 'a call, not a function');
    assert.equal(hoistRuntime(withRuntimeLine('class Counter { static count = 0; }')), undefined, 'an unknown class');
    assert.equal(hoistRuntime(withRuntimeLine('setTimeout(() => {}, 0);')), undefined, 'a statement');
    assert.equal(hoistRuntime(withRuntimeLine('const FIELD = imports.x;')), undefined, "instantiate's parameters");
    assert.equal(hoistRuntime(withRuntimeLine('const pattern = /[{]/;')), undefined, 'text it cannot scan for sure');
    // Functions are not state, however they are written.
    assert.notEqual(hoistRuntime(withRuntimeLine('// a comment\nconst helper = (a, b) => a + b;\nfunction other() { return `${1}}`; }')), undefined);
  });
});
