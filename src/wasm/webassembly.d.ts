/**
 * The part of the WebAssembly JS API that Node provides and this project uses.
 *
 * tsconfig's lib is ES2022 without DOM (the core must not look like browser code), and
 * @types/node 20 does not declare the WebAssembly namespace, so it is declared here, once,
 * for the whole project. Remove this file if tsconfig ever adds "DOM" or "WebWorker" to lib.
 */
declare namespace WebAssembly {
  type ImportExportKind = 'function' | 'table' | 'memory' | 'global';
  type ImportValue = ((...args: never[]) => unknown) | Memory | Table | Global | number;
  type ModuleImports = Record<string, ImportValue>;
  type Imports = Record<string, ModuleImports>;
  type ExportValue = ((...args: never[]) => unknown) | Memory | Table | Global;
  type Exports = Record<string, ExportValue>;

  interface ModuleImportDescriptor {
    module: string;
    name: string;
    kind: ImportExportKind;
  }
  interface ModuleExportDescriptor {
    name: string;
    kind: ImportExportKind;
  }

  interface Module {}
  var Module: {
    prototype: Module;
    new (bytes: ArrayBufferView | ArrayBuffer): Module;
    exports(module: Module): ModuleExportDescriptor[];
    imports(module: Module): ModuleImportDescriptor[];
    customSections(module: Module, sectionName: string): ArrayBuffer[];
  };

  interface Instance {
    readonly exports: Exports;
  }
  var Instance: {
    prototype: Instance;
    new (module: Module, importObject?: Imports): Instance;
  };

  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  var Memory: {
    prototype: Memory;
    new (descriptor: MemoryDescriptor): Memory;
  };

  interface Table {
    readonly length: number;
  }
  var Table: { prototype: Table };
  interface Global {
    value: unknown;
  }
  interface GlobalDescriptor {
    value: 'i32' | 'i64' | 'f32' | 'f64' | 'externref' | 'anyfunc';
    mutable?: boolean;
  }
  var Global: {
    prototype: Global;
    new (descriptor: GlobalDescriptor, value?: unknown): Global;
  };

  interface CompileError extends Error {}
  var CompileError: { prototype: CompileError; new (message?: string): CompileError };
  interface LinkError extends Error {}
  var LinkError: { prototype: LinkError; new (message?: string): LinkError };
  interface RuntimeError extends Error {}
  var RuntimeError: { prototype: RuntimeError; new (message?: string): RuntimeError };

  interface WebAssemblyInstantiatedSource {
    instance: Instance;
    module: Module;
  }

  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  function instantiate(bytes: ArrayBufferView | ArrayBuffer, importObject?: Imports): Promise<WebAssemblyInstantiatedSource>;
  function instantiate(module: Module, importObject?: Imports): Promise<Instance>;
}
