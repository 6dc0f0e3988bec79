/**
 * Runs component jobs in a job worker: instantiates the component through its glue with our host
 * (host.ts), calls its wasi:cli/run, and says how it ended. Every run gets a fresh instance.
 */
import type { OutputSink, WasiEnd } from '../wasi';
import { loadGlue, runExportOf, type Instantiate } from './glue';
import { ComponentHost, type ComponentRunContext } from './host';
import type { ComponentExecutable } from './prepare';

export class ComponentRunner {
  private readonly host: ComponentHost;
  /** The glue made into a function, once per component this worker holds. */
  private readonly instantiators = new WeakMap<ComponentExecutable, Instantiate>();

  constructor(stdout: OutputSink, stderr: OutputSink) {
    this.host = new ComponentHost(stdout, stderr);
  }

  run(component: ComponentExecutable, context: ComponentRunContext): WasiEnd {
    // The memories of the run's core instances: its files share the memory limit with them.
    const memories = new Set<WebAssembly.Memory>();
    const instantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance => {
      const instance = new WebAssembly.Instance(module, imports);
      for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.add(value);
      return instance;
    };
    this.host.beginRun(context, () => [...memories].reduce((sum, memory) => sum + memory.buffer.byteLength, 0));
    try {
      const exports = this.instantiatorOf(component)((name) => coreModule(component, name), this.host.imports, instantiateCore);
      runExportOf(exports).run();
      return { kind: 'exited', exitCode: 0, outputLimited: false };
    } catch (error) {
      return ComponentHost.endOf(error);
    } finally {
      this.host.endRun();
    }
  }

  private instantiatorOf(component: ComponentExecutable): Instantiate {
    let instantiate = this.instantiators.get(component);
    if (!instantiate) {
      instantiate = loadGlue(component.glue);
      this.instantiators.set(component, instantiate);
    }
    return instantiate;
  }
}

function coreModule(component: ComponentExecutable, name: string): WebAssembly.Module {
  const module = component.coreModules[name];
  if (!module) throw new Error(`the component's glue asked for a core module ${name} that transpiling did not produce`);
  return module;
}
