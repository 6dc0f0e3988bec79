/**
 * Hovers in a manifest, as markdown data: a key's documentation, what `binary` points at, and the
 * fully-qualified name the agent will use for the job. Reading the `.wasm` is I/O, so the caller
 * does it (see `binaryUnderCursor`) and passes the facts in.
 */
import { KeyLine, keyLineAt, scanKeyLines } from './completion';
import { nearestKey } from './fixes';
import { isManifestKey, KEY_INFO, typeName } from './keys';
import { checkName, checkNamespace, fullyQualifiedName } from './names';
import { MANIFEST_KEYS, TextRange } from './types';
import { inspectComponent } from '../wasm/component';
import { WasmFormatError, inspectWasm } from '../wasm/inspect';
import { wasmLayer, type WasmLayer } from '../wasm/layer';

/** What the caller found at the path of `binary`. */
export interface BinaryFacts {
  /** Absolute path the manifest's `binary` resolves to. */
  resolvedPath: string;
  /** Size in bytes, when the file exists. */
  size?: number;
  /** A core module (WASI preview1) or a component (WASI 0.2), from the header's layer bytes. */
  kind?: WasmLayer;
  /** Export names, when the file is a valid module. */
  exports?: readonly string[];
  /** Imports as module and field names, when the file is a valid module. */
  imports?: ReadonlyArray<{ module: string; name: string }>;
  /** A component's world: the interfaces it imports and exports (e.g. `wasi:cli/stdout@0.2.3`). */
  world?: { imports: readonly string[]; exports: readonly string[] };
  /** Why the module could not be read (missing, not a module...): one sentence. */
  error?: string;
}

export interface HoverRequest {
  text: string;
  line: number;
  column: number;
  /** Facts about the binary, when the cursor is on the `binary` line (see `binaryUnderCursor`). */
  binary?: BinaryFacts;
}

export interface HoverResult {
  /** Markdown paragraphs, shown in order. */
  markdown: string[];
  /** What the hover is about (the key line); absent for the file-wide fully-qualified name. */
  range?: TextRange;
}

/** The `binary` value when the cursor is on the `binary` line, so the caller knows to read it. */
export function binaryUnderCursor(text: string, line: number): string | undefined {
  const owner = keyLineAt(scanKeyLines(text), line);
  return owner?.key === 'binary' ? owner.stringValue : undefined;
}

/** The hover at the cursor: a key's docs (plus the binary's facts), always the fq name. */
export function hoverManifest(request: HoverRequest): HoverResult | undefined {
  const keyLines = scanKeyLines(request.text);
  const owner = keyLineAt(keyLines, request.line);
  const nameLine = fqNameMarkdown(keyLines);
  if (owner === undefined) {
    return { markdown: [nameLine] };
  }
  const range = { line: owner.line, column: owner.keyRange.column, length: lineSpan(owner) };
  return { markdown: [...keyMarkdown(owner, keyLines, request.binary), nameLine], range };
}

function lineSpan(owner: KeyLine): number {
  return owner.valueRange.column + owner.valueRange.length - owner.keyRange.column;
}

function keyMarkdown(owner: KeyLine, keyLines: readonly KeyLine[], binary: BinaryFacts | undefined): string[] {
  if (!isManifestKey(owner.key)) {
    return [unknownKeyMarkdown(owner.key, keyLines)];
  }
  const info = KEY_INFO[owner.key];
  const kind = `${info.required ? 'required' : 'optional'}, ${typeName(info.type)}`;
  const header = `**${info.key}** (${kind})\n\n${info.documentation}`;
  return owner.key === 'binary' && binary !== undefined ? [header, binaryMarkdown(binary)] : [header];
}

function unknownKeyMarkdown(key: string, keyLines: readonly KeyLine[]): string {
  const present = new Set(keyLines.map((keyLine) => keyLine.key));
  const nearest = nearestKey(key, MANIFEST_KEYS.filter((known) => !present.has(known)));
  const hint = nearest !== undefined ? ` Did you mean \`${nearest}\`?` : '';
  return `**${key}** is not a manifest key: the agent keeps it but does not use it.${hint}`;
}

/** What the hover says of the bytes at `resolvedPath`: a module's imports and exports, a component's world. */
export function binaryFactsOf(resolvedPath: string, bytes: Uint8Array): BinaryFacts {
  const size = bytes.byteLength;
  try {
    if (wasmLayer(bytes) === 'component') {
      const info = inspectComponent(bytes);
      return { resolvedPath, size, kind: 'component', world: { imports: info.imports.map((i) => i.name), exports: info.exports.map((e) => e.name) } };
    }
    const info = inspectWasm(bytes);
    return {
      resolvedPath,
      size,
      kind: 'module',
      exports: info.exports.map((entry) => entry.name),
      imports: info.imports.map(({ module, name }) => ({ module, name })),
    };
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    return { resolvedPath, size, error: `Not a valid WebAssembly module or component: ${error.message}` };
  }
}

/** The module the binary resolves to: path, size, exports and imports, or why it can't be read. */
export function binaryMarkdown(facts: BinaryFacts): string {
  const lines = [`Resolves to \`${facts.resolvedPath}\`${facts.size !== undefined ? ` (${formatSize(facts.size)})` : ''}`];
  if (facts.error !== undefined) {
    lines.push(`$(warning) ${facts.error}`);
  }
  if (facts.kind !== undefined) {
    lines.push(facts.kind === 'component' ? 'A WebAssembly component (WASI 0.2)' : 'A WebAssembly core module (WASI preview1)');
  }
  if (facts.world !== undefined) {
    lines.push(`World imports: ${codeList(facts.world.imports)}`, `World exports: ${codeList(facts.world.exports)}`);
  }
  if (facts.exports !== undefined) {
    lines.push(`Exports: ${codeList(facts.exports)}`);
  }
  if (facts.imports !== undefined) {
    lines.push(`Imports: ${importList(facts.imports)}`);
  }
  return lines.join('\n\n');
}

function importList(imports: ReadonlyArray<{ module: string; name: string }>): string {
  if (imports.length === 0) {
    return 'none';
  }
  const byModule = new Map<string, string[]>();
  for (const { module, name } of imports) {
    byModule.set(module, [...(byModule.get(module) ?? []), name]);
  }
  return [...byModule].map(([module, names]) => `\`${module}\`: ${codeList(names)}`).join('; ');
}

function codeList(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((name) => `\`${name}\``).join(', ');
}

/** `12.3 KiB`, `456 bytes`: what a person reads at a glance. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} bytes`;
  }
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The fully-qualified name line, or what keeps the manifest from having one. */
export function fqNameMarkdown(keyLines: readonly KeyLine[]): string {
  const name = keyLines.find((keyLine) => keyLine.key === 'name')?.stringValue;
  const namespace = keyLines.find((keyLine) => keyLine.key === 'namespace')?.stringValue;
  if (name === undefined || namespace === undefined) {
    return 'Fully-qualified name: needs both `name` and `namespace` as strings.';
  }
  if (checkName(name) !== undefined || checkNamespace(namespace) !== undefined) {
    return 'Fully-qualified name: none until `name` and `namespace` follow the naming rules.';
  }
  return `Fully-qualified name: \`${fullyQualifiedName(namespace, name)}\` (the agent stores and runs this job under it)`;
}
