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
    this.host.beginRun(context);
    try {
      const exports = this.instantiatorOf(component)((name) => coreModule(component, name), this.host.imports);
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
