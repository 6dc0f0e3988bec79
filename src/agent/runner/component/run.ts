/**
 * Runs component jobs in a job worker: instantiates the component through its glue with our host
 * (host.ts), calls its wasi:cli/run, and says how it ended. Every run gets a fresh instance.
 *
 * After a run, the worker makes the next run's instance (instantiateAhead), off the next job's
 * path, as it does for modules. For a module that happens only when instantiating runs no guest
 * code; a C program built with the preview1 adapter does run some (the adapter's start section,
 * allocate_stack, grows memory for its stack), so a component is instantiated ahead only when that
 * code can do nothing but set up its own new instance, and only quickly: every host function
 * refuses while it runs (a start function that calls one fails, and the component is then
 * instantiated in its jobs again), and only while its instantiations take under AHEAD_MAX_MS.
 * Without host input, instantiating is the same work every time.
 */
import type { OutputSink, WasiEnd } from '../wasi';
import { type CoreModuleGetter, loadGlue, runExportOf, type Instantiate, type InstantiateCore } from './glue';
import { ComponentHost, type ComponentRunContext } from './host';
import type { ComponentExecutable } from './prepare';

/** Longer than this (wall clock, GC pauses included) and a component is instantiated in its jobs only. */
const AHEAD_MAX_MS = 2;

/** The glue made into a function, and the core-module lookup it is given, once per component. */
interface LoadedComponent {
  instantiate: Instantiate;
  getCoreModule: CoreModuleGetter;
  /** Its instantiation calls no host function and is quick (see above): it may be done ahead. */
  ahead: boolean;
  /** Instantiating it ahead failed once (its start called the host): it is never tried again. */
  neverAhead?: boolean;
}

interface ComponentInstance {
  component: ComponentExecutable;
  exports: Record<string, unknown>;
  /** The memories of its core instances: a job's files share the memory limit with them. */
  memories: WebAssembly.Memory[];
}

/** A host function called while a component is instantiated ahead, outside any job. */
class OutsideAJob extends Error {}

export class ComponentRunner {
  private readonly host: ComponentHost;
  /** The host's imports, refusing while `outsideAJob`. */
  private readonly imports: Record<string, Record<string, unknown>>;
  private outsideAJob = false;
  private readonly loaded = new WeakMap<ComponentExecutable, LoadedComponent>();
  /** A fresh, never-run instance of the component of the last run, for its next run. */
  private ahead: ComponentInstance | undefined;
  private running: WebAssembly.Memory[] = [];
  private instantiating: WebAssembly.Memory[] = [];
  private readonly instantiateCore: InstantiateCore = (module, imports) => {
    const instance = new WebAssembly.Instance(module, imports);
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory && !this.instantiating.includes(value)) this.instantiating.push(value);
    }
    return instance;
  };
  private readonly guestBytes = (): number => this.running.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);

  constructor(stdout: OutputSink, stderr: OutputSink) {
    this.host = new ComponentHost(stdout, stderr);
    this.imports = refusingWhen(this.host.imports, () => this.outsideAJob);
  }

  run(component: ComponentExecutable, context: ComponentRunContext): WasiEnd {
    const ahead = this.ahead?.component === component ? this.ahead : undefined;
    this.ahead = undefined;
    this.host.beginRun(context, this.guestBytes);
    try {
      const instance = ahead ?? this.instantiate(component);
      this.running = instance.memories;
      runExportOf(instance.exports).run();
      return { kind: 'exited', exitCode: 0, outputLimited: false };
    } catch (error) {
      return ComponentHost.endOf(error);
    } finally {
      this.host.endRun();
      this.running = [];
    }
  }

  /** Makes the instance of `component` that its next run on this thread will use, when it may (see above); whether it did. */
  instantiateAhead(component: ComponentExecutable): boolean {
    this.ahead = undefined;
    if (!this.loaded.get(component)?.ahead) return false;
    this.outsideAJob = true;
    try {
      this.ahead = this.instantiate(component);
      return true;
    } catch {
      // A host call refused, or a memory not to be had: its runs instantiate it from now on (and say why).
      const loaded = this.loadedOf(component);
      loaded.ahead = false;
      loaded.neverAhead = true;
      return false;
    } finally {
      this.outsideAJob = false;
    }
  }

  /** The worker no longer holds `component`: let its instance go too. */
  forget(component: ComponentExecutable): void {
    if (this.ahead?.component === component) this.ahead = undefined;
  }

  private instantiate(component: ComponentExecutable): ComponentInstance {
    const loaded = this.loadedOf(component);
    this.instantiating = [];
    const startedAt = performance.now();
    const exports = loaded.instantiate(loaded.getCoreModule, this.imports, this.instantiateCore);
    // Instantiated in a job, it says whether it may be ahead; ahead, it can only lose that.
    const quick = performance.now() - startedAt < AHEAD_MAX_MS;
    loaded.ahead = !loaded.neverAhead && (this.outsideAJob ? loaded.ahead && quick : quick);
    return { component, exports, memories: this.instantiating };
  }

  private loadedOf(component: ComponentExecutable): LoadedComponent {
    let loaded = this.loaded.get(component);
    if (!loaded) {
      loaded = { instantiate: loadGlue(component.glue), getCoreModule: (name) => coreModule(component, name), ahead: false };
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

/** `imports` with every function but the resource classes throwing while `refusing()`. */
function refusingWhen(imports: Record<string, Record<string, unknown>>, refusing: () => boolean): Record<string, Record<string, unknown>> {
  const guarded: Record<string, Record<string, unknown>> = {};
  for (const [name, members] of Object.entries(imports)) {
    guarded[name] = {};
    for (const [key, value] of Object.entries(members)) {
      guarded[name][key] =
        typeof value === 'function' && !isClass(value)
          ? function (this: unknown, ...args: unknown[]) {
              if (refusing()) throw new OutsideAJob(`${name}.${key} called while the component was instantiated outside a job`);
              return (value as (...a: unknown[]) => unknown).apply(this, args);
            }
          : value;
    }
  }
  return guarded;
}

function isClass(value: unknown): boolean {
  return /^class\b/.test(Function.prototype.toString.call(value));
}
