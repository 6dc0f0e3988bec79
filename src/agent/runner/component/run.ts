/**
 * Runs component jobs in a job worker: instantiates the component through its glue with our host
 * (host.ts), calls its wasi:cli/run, and says how it ended. Every run gets a fresh instance.
 *
 * It is made during the run, not ahead of it as modules' are (jobWorker.ts): the C programs built
 * with the preview1 adapter have a core start section (the adapter's allocate_stack, which grows
 * memory for its stack), so instantiating runs guest code, which may happen only inside a job.
 */
import type { OutputSink, WasiEnd } from '../wasi';
import { type CoreModuleGetter, loadGlue, runExportOf, type Instantiate, type InstantiateCore } from './glue';
import { ComponentHost, type ComponentRunContext } from './host';
import type { ComponentExecutable } from './prepare';

/** The glue made into a function, and the core-module lookup it is given, once per component. */
interface LoadedComponent {
  instantiate: Instantiate;
  getCoreModule: CoreModuleGetter;
}

export class ComponentRunner {
  private readonly host: ComponentHost;
  private readonly loaded = new WeakMap<ComponentExecutable, LoadedComponent>();
  /** The memories of the running job's core instances: its files share the memory limit with them. */
  private readonly memories: WebAssembly.Memory[] = [];
  private readonly instantiateCore: InstantiateCore = (module, imports) => {
    const instance = new WebAssembly.Instance(module, imports);
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory && !this.memories.includes(value)) this.memories.push(value);
    }
    return instance;
  };
  private readonly guestBytes = (): number => this.memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);

  constructor(stdout: OutputSink, stderr: OutputSink) {
    this.host = new ComponentHost(stdout, stderr);
  }

  run(component: ComponentExecutable, context: ComponentRunContext): WasiEnd {
    this.host.beginRun(context, this.guestBytes);
    try {
      const { instantiate, getCoreModule } = this.loadedOf(component);
      runExportOf(instantiate(getCoreModule, this.host.imports, this.instantiateCore)).run();
      return { kind: 'exited', exitCode: 0, outputLimited: false };
    } catch (error) {
      return ComponentHost.endOf(error);
    } finally {
      this.host.endRun();
      this.memories.length = 0;
    }
  }

  private loadedOf(component: ComponentExecutable): LoadedComponent {
    let loaded = this.loaded.get(component);
    if (!loaded) {
      loaded = { instantiate: loadGlue(component.glue), getCoreModule: (name) => coreModule(component, name) };
      this.loaded.set(component, loaded);
    }
    return loaded;
  }
}

function coreModule(component: ComponentExecutable, name: string): WebAssembly.Module {
  const module = component.coreModules[name];
  if (!module) throw new Error(`the component's glue asked for a core module ${name} that transpiling did not produce`);
  return module;
}
