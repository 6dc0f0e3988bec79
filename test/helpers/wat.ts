/** Builds WAT fixtures into .wasm bytes at test time with wabt (wat2wasm as a JS library). */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import wabt from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabt>>;

/** test/fixtures/wat, found from out/test/helpers (tsc output) as well as from test/helpers. */
export const WAT_FIXTURES = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../../test/fixtures/wat' : '../fixtures/wat');

// wabt instantiates a ~1 MB Emscripten module: do it once for the whole test run.
let wabtInstance: Promise<Wabt> | undefined;
function getWabt(): Promise<Wabt> {
  wabtInstance ??= wabt();
  return wabtInstance;
}

/** Compiles WAT source text to a validated binary module (extra wabt features, e.g. reference_types, on request). */
export async function watToWasm(text: string, fileName = 'inline.wat', features: Record<string, boolean> = {}): Promise<Uint8Array> {
  const module = (await getWabt()).parseWat(fileName, text, { bulk_memory: true, multi_value: true, ...features });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

const built = new Map<string, Promise<Uint8Array>>();

/** Builds test/fixtures/wat/<name>.wat (the extension is optional); each fixture is built once per run. */
export function buildWat(name: string): Promise<Uint8Array> {
  const fileName = name.endsWith('.wat') ? name : `${name}.wat`;
  let bytes = built.get(fileName);
  if (!bytes) {
    bytes = fs.readFile(path.join(WAT_FIXTURES, fileName), 'utf8').then((text) => watToWasm(text, fileName));
    built.set(fileName, bytes);
  }
  return bytes;
}
