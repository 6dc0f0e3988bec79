import * as assert from 'node:assert/strict';
import { componentCommandProblems, inspectComponent, isHostedImport } from '../../src/wasm/component';
import { WasmFormatError } from '../../src/wasm/errors';
import { wasmLayer } from '../../src/wasm/layer';
import { componentFixture, loudify } from '../helpers/components';

describe('wasmLayer', () => {
  it('tells a core module (01 00 00 00) from a component (0d 00 01 00) by the bytes after the magic', async () => {
    assert.equal(wasmLayer(await loudify('module')), 'module');
    assert.equal(wasmLayer(await loudify('component')), 'component');
    assert.equal(wasmLayer(Uint8Array.of(0, 0x61, 0x73, 0x6d, 2, 0, 0, 0)), undefined);
    assert.equal(wasmLayer(new TextEncoder().encode('(module)')), undefined);
  });
});

describe('inspectComponent', () => {
  it("lists a wasi:cli/command's world: its WASI imports and its wasi:cli/run export", async () => {
    const info = inspectComponent(await loudify('component'));
    assert.ok(info.imports.some((item) => item.name === 'wasi:cli/stdout@0.2.12' && item.kind === 'instance'));
    assert.ok(info.imports.every((item) => item.name.startsWith('wasi:')));
    assert.deepEqual(info.exports, [{ name: 'wasi:cli/run@0.2.12', kind: 'instance' }]);
    assert.deepEqual(componentCommandProblems(info), []);
  });

  it('names the interfaces the agent does not host (sockets, http)', async () => {
    const problems = componentCommandProblems(inspectComponent(await componentFixture('sockets')));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /wasi:sockets\/tcp@0\.2\.0, wasi:http\/outgoing-handler@0\.2\.0, which the agent does not host/);
  });

  it('says a component without wasi:cli/run is not a command', async () => {
    const info = inspectComponent(await componentFixture('library'));
    assert.deepEqual(info.exports, [{ name: 'add', kind: 'function' }]);
    assert.match(componentCommandProblems(info).join(' '), /does not export wasi:cli\/run .* not a wasi:cli\/command/);
  });

  it('hosts WASI 0.2 interfaces only, of the packages it implements', () => {
    const hosted = (name: string): boolean => isHostedImport({ name, kind: 'instance' });
    assert.ok(hosted('wasi:io/streams@0.2.0'));
    assert.ok(hosted('wasi:filesystem/preopens@0.2.3'));
    assert.ok(!hosted('wasi:io/streams@0.3.0'));
    assert.ok(!hosted('wasi:io/streams'));
    assert.ok(!hosted('wasi:sockets/udp@0.2.0'));
    assert.ok(!hosted('wasi:http/types@0.2.0'));
    assert.ok(!hosted('acme:secrets/vault@0.2.0'));
    assert.ok(!isHostedImport({ name: 'wasi:cli/stdout@0.2.0', kind: 'function' }));
  });

  it('refuses a truncated component, naming what it was reading', async () => {
    const bytes = await loudify('component');
    assert.throws(() => inspectComponent(bytes.subarray(0, 200)), (error: unknown) => error instanceof WasmFormatError && /truncated/.test(error.message));
  });
});
