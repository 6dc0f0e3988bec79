/** The committed component fixtures (test/fixtures/components, built by its build.sh) and samples. */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { WAT_FIXTURES } from './wat';

export const COMPONENT_FIXTURES = path.join(WAT_FIXTURES, '..', 'components');
export const SAMPLES = path.join(WAT_FIXTURES, '..', '..', '..', 'samples');

export function componentFixture(name: string): Promise<Uint8Array> {
  return fs.readFile(path.join(COMPONENT_FIXTURES, `${name}.component.wasm`));
}

/** samples/loudify (C, preview1 module) and samples/loudify-component (the same program, adapted). */
export function loudify(kind: 'module' | 'component'): Promise<Uint8Array> {
  return kind === 'module'
    ? fs.readFile(path.join(SAMPLES, 'loudify', 'loudify.wasm'))
    : fs.readFile(path.join(SAMPLES, 'loudify-component', 'loudify.component.wasm'));
}
