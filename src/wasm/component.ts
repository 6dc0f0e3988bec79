/**
 * Reads what a WebAssembly component (component model, layer 1) imports and exports at its top
 * level, its world, without compiling or transpiling it: the import (10) and export (11) sections
 * are parsed and every other section, nested modules and components included, is skipped by size.
 *
 * And the rules of a component job: a `wasi:cli/command` (it exports `wasi:cli/run`) that imports
 * only the WASI 0.2 interfaces the agent hosts. The agent refuses everything else at upload.
 */
import { WasmFormatError } from './errors';
import { WASM_HEADER_BYTES, wasmLayer } from './layer';
import { ByteReader } from './reader';

export type ComponentItemKind = 'module' | 'function' | 'value' | 'type' | 'component' | 'instance';
export interface ComponentItem {
  /** e.g. "wasi:cli/stdout@0.2.0" for an interface (an instance), a plain name for the rest. */
  name: string;
  kind: ComponentItemKind;
}
export interface ComponentInfo {
  imports: ComponentItem[];
  exports: ComponentItem[];
}

const enum ComponentSection {
  Import = 10,
  Export = 11,
}
const EXTERN_KINDS: readonly ComponentItemKind[] = ['module', 'function', 'value', 'type', 'component', 'instance'];
const CORE_SORT = 0x00;
const CORE_MODULE_TYPE = 0x11;

/** Throws WasmFormatError, with a message for a person, when the bytes are not a well-formed component. */
export function inspectComponent(bytes: Uint8Array): ComponentInfo {
  if (wasmLayer(bytes) !== 'component') {
    throw new WasmFormatError('not a WebAssembly component: its header is not \\0asm followed by 0d 00 01 00.');
  }
  const imports: ComponentItem[] = [];
  const exports: ComponentItem[] = [];
  const reader = new ByteReader(bytes, WASM_HEADER_BYTES);
  while (!reader.atEnd) {
    const id = reader.byte('a section id');
    const size = reader.uleb(`the size of section ${id}`);
    const end = reader.offset + size;
    if (end > bytes.length) throw reader.truncated(`section ${id} (${size} bytes declared)`);
    const section = new ByteReader(bytes, reader.offset, end);
    if (id === ComponentSection.Import) readImports(section, imports);
    else if (id === ComponentSection.Export) readExports(section, exports);
    else section.offset = end;
    if (!section.atEnd) throw section.malformed(`section ${id} has ${end - section.offset} unexpected bytes at its end`);
    reader.offset = end;
  }
  return { imports, exports };
}

function readImports(reader: ByteReader, into: ComponentItem[]): void {
  const count = reader.uleb('the number of imports');
  for (let i = 0; i < count; i++) {
    const name = readExternName(reader, `import ${i}`);
    into.push({ name, kind: readExternDescription(reader, `import "${name}"`) });
  }
}

function readExports(reader: ByteReader, into: ComponentItem[]): void {
  const count = reader.uleb('the number of exports');
  for (let i = 0; i < count; i++) {
    const name = readExternName(reader, `export ${i}`);
    const kind = readSort(reader, `export "${name}"`);
    reader.uleb(`the index of export "${name}"`);
    const hasType = reader.byte(`the type flag of export "${name}"`);
    if (hasType === 0x01) readExternDescription(reader, `export "${name}"`);
    else if (hasType !== 0x00) throw reader.malformed(`export "${name}" has an unknown type flag 0x${hasType.toString(16)}`, reader.offset - 1);
    into.push({ name, kind });
  }
}

/** 0x00 name, or 0x01 name + version suffix (which the name already carries for WASI). */
function readExternName(reader: ByteReader, what: string): string {
  const tag = reader.byte(`the name tag of ${what}`);
  if (tag !== 0x00 && tag !== 0x01) throw reader.malformed(`${what} has an unknown name tag 0x${tag.toString(16)}`, reader.offset - 1);
  const name = reader.name(`the name of ${what}`);
  if (tag === 0x01) reader.name(`the version suffix of ${what}`);
  return name;
}

function readSort(reader: ByteReader, what: string): ComponentItemKind {
  const code = reader.byte(`the kind of ${what}`);
  if (code === CORE_SORT) {
    reader.byte(`the core kind of ${what}`);
    return 'module';
  }
  const kind = EXTERN_KINDS[code];
  if (kind === undefined) throw reader.malformed(`${what} has an unknown kind 0x${code.toString(16)}`, reader.offset - 1);
  return kind;
}

function readExternDescription(reader: ByteReader, what: string): ComponentItemKind {
  const code = reader.byte(`the kind of ${what}`);
  const kind = EXTERN_KINDS[code];
  if (kind === undefined) throw reader.malformed(`${what} has an unknown kind 0x${code.toString(16)}`, reader.offset - 1);
  if (kind === 'module') {
    if (reader.byte(`the module type tag of ${what}`) !== CORE_MODULE_TYPE) throw reader.malformed(`${what} is a core module without a module type`);
    reader.uleb(`the type index of ${what}`);
  } else if (kind === 'value') {
    // 0x00 value index | 0x01 value type (an s33: a type index or a primitive type code)
    reader.byte(`the value bound of ${what}`);
    reader.skipSleb(`the value type of ${what}`);
  } else if (kind === 'type') {
    // 0x00 type index (eq) | 0x01 (sub resource)
    if (reader.byte(`the type bound of ${what}`) === 0x00) reader.uleb(`the type index of ${what}`);
  } else {
    reader.uleb(`the type index of ${what}`);
  }
  return kind;
}

// ---- what a component job may be ----------------------------------------------------------------

/** The WASI 0.2 interfaces the agent hosts for component jobs, by package. */
export const HOSTED_INTERFACES: Readonly<Record<string, readonly string[]>> = {
  'wasi:cli': [
    'environment', 'exit', 'stdin', 'stdout', 'stderr',
    'terminal-input', 'terminal-output', 'terminal-stdin', 'terminal-stdout', 'terminal-stderr',
  ],
  'wasi:io': ['error', 'poll', 'streams'],
  'wasi:clocks': ['monotonic-clock', 'wall-clock'],
  'wasi:random': ['random', 'insecure', 'insecure-seed'],
  'wasi:filesystem': ['types', 'preopens'],
};
export const RUN_INTERFACE = 'wasi:cli/run';

/** "wasi:cli/stdout@0.2.3" → { package: "wasi:cli", name: "stdout", version: "0.2.3" }. */
export function parseInterfaceName(name: string): { package: string; name: string; version?: string } | undefined {
  const match = /^([a-z][a-z0-9-]*:[a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)(?:@([0-9A-Za-z.+-]+))?$/.exec(name);
  return match ? { package: match[1]!, name: match[2]!, ...(match[3] !== undefined && { version: match[3] }) } : undefined;
}

function isWasi02(version: string | undefined): boolean {
  return version !== undefined && /^0\.2\.\d+$/.test(version);
}

/** Whether the agent hosts this import: an instance of a WASI 0.2 interface it implements. */
export function isHostedImport(item: ComponentItem): boolean {
  const parsed = parseInterfaceName(item.name);
  return (
    item.kind === 'instance' &&
    parsed !== undefined &&
    isWasi02(parsed.version) &&
    (HOSTED_INTERFACES[parsed.package]?.includes(parsed.name) ?? false)
  );
}

/** The imports the agent does not host (wasi:sockets, wasi:http, anything unknown). */
export function unhostedImports(info: ComponentInfo): ComponentItem[] {
  return info.imports.filter((item) => !isHostedImport(item));
}

export function exportsRun(info: ComponentInfo): boolean {
  return info.exports.some((item) => {
    const parsed = parseInterfaceName(item.name);
    return item.kind === 'instance' && parsed !== undefined && `${parsed.package}/${parsed.name}` === RUN_INTERFACE && isWasi02(parsed.version);
  });
}

/** Why the component cannot run as a job, one sentence each; empty when it can. */
export function componentCommandProblems(info: ComponentInfo): string[] {
  const problems: string[] = [];
  if (!exportsRun(info)) {
    problems.push(
      `It does not export ${RUN_INTERFACE} (WASI 0.2), so it is not a wasi:cli/command: a library or reactor component cannot run as a job; ` +
        'build it as a command (e.g. a Rust binary for wasm32-wasip2, or jco new --wasi-command).',
    );
  }
  const unhosted = unhostedImports(info);
  if (unhosted.length > 0) {
    const listed = unhosted.slice(0, 8).map((item) => (item.kind === 'instance' ? item.name : `${item.name} (a ${item.kind})`));
    const more = unhosted.length > 8 ? ` and ${unhosted.length - 8} more` : '';
    problems.push(
      `It imports ${listed.join(', ')}${more}, which the agent does not host: a component job may import only ` +
        `${hostedSummary()} of WASI 0.2 (no sockets, no HTTP).`,
    );
  }
  return problems;
}

function hostedSummary(): string {
  return Object.keys(HOSTED_INTERFACES).join(', ');
}
