/**
 * jco's glue evaluates its runtime (the intrinsics: the task, subtask, waitable and resource-table
 * classes of the component model's async ABI, ~3,700 lines) inside `instantiate`, so every
 * instantiation makes those classes anew. V8 gives each new class hidden classes of its own, so a
 * run's first task objects pay for building them (~0.1 ms per class) and every later access
 * misses the inline caches: most of a warm run of a C component. `hoistRuntime` rewrites the glue
 * so that the runtime is evaluated once (per component and worker) and its state is put back,
 * before each instantiation, exactly as a fresh evaluation leaves it.
 *
 * It does so only when it can account for every top-level binding of the runtime (RUNTIME_STATE,
 * RUNTIME_CONSTANTS, for the pinned jco-transpile): glue with any other binding, a statement it
 * does not know, or text it cannot scan for sure keeps the evaluation per instantiation (slower,
 * as correct). What it relies on, checked against jco's intrinsics: they use nothing of the
 * component's part of the glue (instantiate's parameters or its later declarations), and a
 * synchronous run leaves no timer or callback behind that touches them after it ended (the only
 * promise callback is a no-op `catch`).
 */

/** Where the component's part of `instantiate` begins: its first core module. */
const COMPONENT_PART = /^const \w+ = getCoreModule\(/m;
const INSTANTIATE_LINE = /^export function instantiate\((.*)\) \{$/m;

/** Mutable runtime bindings and what puts each back as its declaration made it. */
const RUNTIME_STATE: Readonly<Record<string, string>> = {
  dv: 'dv = new DataView(new ArrayBuffer());',
  RESOURCE_SCOPE_TASKS: 'RESOURCE_SCOPE_TASKS.clear();',
  RESOURCE_SCOPE_ID: 'RESOURCE_SCOPE_ID = 0;',
  curResourceBorrows: 'curResourceBorrows = [];',
  ASYNC_TASKS_BY_COMPONENT_IDX: 'ASYNC_TASKS_BY_COMPONENT_IDX.clear();',
  ASYNC_CURRENT_COMPONENT_IDXS: 'ASYNC_CURRENT_COMPONENT_IDXS.length = 0;',
  ASYNC_CURRENT_TASK_IDS: 'ASYNC_CURRENT_TASK_IDS.length = 0;',
  ASYNC_STATE: 'ASYNC_STATE.clear();',
  INSTANCE_FLAGS: 'INSTANCE_FLAGS.clear();',
  STORE_TRAP: 'STORE_TRAP.error = null;',
  STORE_ASYNC_STATE:
    'clearTimeout(STORE_ASYNC_STATE.deadlockCheck ?? undefined); STORE_ASYNC_STATE.deadlockCheck = null; STORE_ASYNC_STATE.pendingHostOperations = 0;',
  GLOBAL_COMPONENT_MEMORY_MAP: 'GLOBAL_COMPONENT_MEMORY_MAP.clear();',
  CURRENT_TASK_META: 'for (const key of Reflect.ownKeys(CURRENT_TASK_META)) delete CURRENT_TASK_META[key];',
  CURRENT_TASK_MAY_BLOCK: 'if (CURRENT_TASK_MAY_BLOCK) CURRENT_TASK_MAY_BLOCK.value = 0;',
  _liftFlatVariantScratch: 'new Uint8Array(_liftFlatVariantScratch.buffer).fill(0);',
  HANDLE_TABLES: 'HANDLE_TABLES.length = 0;',
  // Classes whose static fields count (the rest of their statics are constants).
  AsyncTask: 'AsyncTask._ID = 0n;',
  AsyncSubtask: 'AsyncSubtask._ID = 0n;',
};

/** Bindings that never change after their declaration (encoders, symbols, tables of constants, classes without static state). */
const RUNTIME_CONSTANTS: ReadonlySet<string> = new Set([
  'isLE', 'TEXT_ENCODER_UTF8', 'TEXT_DECODER_UTF8', 'utf16Decoder', 'T_FLAG', 'WebAssemblyRuntimeError', 'CORE_TRAP_MESSAGES',
  'ASYNC_DETERMINISM', 'ASYNC_EVENT_CODE', 'symbolCabiDispose', 'symbolRscHandle', 'symbolRscRep', 'symbolDispose',
  'hasOwnProperty', 'Waitable', 'RepTable', 'ComponentAsyncState', 'FutureValue',
]);

const RESET_FUNCTION = '__servalResetRuntime';

/**
 * The glue's source made into the body of a function that returns `instantiate`, with its runtime
 * evaluated once; undefined when the glue is not one it can account for (see above).
 */
export function hoistRuntime(source: string): string | undefined {
  const head = INSTANTIATE_LINE.exec(source);
  const componentPart = COMPONENT_PART.exec(source);
  if (!head || !componentPart || componentPart.index < head.index) return undefined;
  const runtime = source.slice(head.index + head[0].length, componentPart.index);
  if (/\b(getCoreModule|instantiateCore|imports)\b/.test(withoutComments(runtime))) return undefined;
  const statements = topLevelStatements(runtime);
  const resets = statements && runtimeResets(statements);
  if (resets === undefined) return undefined;
  const rest = source.slice(componentPart.index).replace(/^export const _util = /m, 'const _util = ');
  return [
    runtime,
    `function ${RESET_FUNCTION}() {\n${resets.join('\n')}\n}`,
    `return function instantiate(${head[1]}) {`,
    `${RESET_FUNCTION}();`,
    rest,
  ].join('\n');
}

/** What puts the runtime's state back; undefined when a statement is not one it knows. */
function runtimeResets(statements: readonly Statement[]): string[] | undefined {
  const resets: string[] = [];
  for (const { text, topLevelComma } of statements) {
    if (/^(async\s+)?function\b/.test(text)) continue;
    let name: string;
    const declaration = /^(const|let|var)\s+([\w$]+)\s*=\s*/.exec(text);
    const classDeclaration = /^class\s+([\w$]+)\b/.exec(text);
    if (declaration && !topLevelComma) {
      name = declaration[2]!;
      if (declaration[1] === 'const' && isFunctionValue(text.slice(declaration[0].length))) continue;
    } else if (classDeclaration) {
      name = classDeclaration[1]!;
    } else {
      return undefined;
    }
    if (RUNTIME_CONSTANTS.has(name)) continue;
    const reset = RUNTIME_STATE[name];
    if (reset === undefined) return undefined;
    resets.push(reset);
  }
  return resets;
}

/** A function expression or arrow function that is the whole initializer (not called on the spot). */
function isFunctionValue(initializer: string): boolean {
  const text = initializer.replace(/;$/, '').trimEnd();
  if (/^(async\s+)?function\b/.test(text)) return text.endsWith('}');
  return /^(async\s+)?(\([\w$\s,.=]*\)|[\w$]+)\s*=>/.test(text);
}

// ---- a scanner for top-level statements --------------------------------------------------------

interface Statement {
  text: string;
  /** A comma outside any bracket: several declarators in one statement. */
  topLevelComma: boolean;
}

/** Thrown where the scanner cannot be sure of the text (a regular expression literal, an unclosed string). */
const UNSURE = new Error('glue runtime: not sure how to scan this');
const DECLARATION_START = /\s*(?:async\s+function|function|class|const|let|var)\b/y;
/** Before a `/`, these words make it a regular expression. */
const OPERATOR_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function topLevelStatements(text: string): Statement[] | undefined {
  try {
    return new Scanner(text).statements();
  } catch (error) {
    if (error === UNSURE) return undefined;
    throw error;
  }
}

class Scanner {
  private i = 0;
  /** The last character of code seen (not space, not comment), and the word it ended if any. */
  private previous = '';
  private previousWord = '';

  constructor(private readonly text: string) {}

  statements(): Statement[] {
    const statements: Statement[] = [];
    let start = 0;
    let topLevelComma = false;
    const end = (at: number) => {
      const statement = withoutLeadingComments(this.text.slice(start, at));
      if (statement !== '' && statement !== ';') statements.push({ text: statement, topLevelComma });
      start = at;
      topLevelComma = false;
    };
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '\n') {
        // A declaration at the start of a line begins a statement, whether or not the last ended with `;`.
        DECLARATION_START.lastIndex = this.i + 1;
        if (DECLARATION_START.test(this.text)) end(this.i);
        this.i++;
      } else if (c === ';') {
        this.i++;
        end(this.i);
      } else if (c === ',') {
        topLevelComma = true;
        this.code(c);
      } else if (c === '{' || c === '(' || c === '[') {
        const isBlock = c === '{' && /^(async\s+)?(function|class)\b/.test(withoutLeadingComments(this.text.slice(start, this.i)));
        this.balanced();
        if (isBlock) end(this.i);
      } else if (c === '}' || c === ')' || c === ']') {
        throw UNSURE;
      } else {
        this.token();
      }
    }
    end(this.text.length);
    return statements;
  }

  /** Skips from an opening bracket to just past its closing one. */
  private balanced(): void {
    const closers: string[] = [];
    do {
      const c = this.text[this.i]!;
      if (c === '{' || c === '(' || c === '[') {
        closers.push(c === '{' ? '}' : c === '(' ? ')' : ']');
        this.code(c);
      } else if (c === '}' || c === ')' || c === ']') {
        if (closers.pop() !== c) throw UNSURE;
        this.code(c);
      } else {
        this.token();
      }
      if (this.i >= this.text.length && closers.length > 0) throw UNSURE;
    } while (closers.length > 0);
  }

  /** Skips one token that is not a bracket: space, a comment, a string, a template, a word, or a character. */
  private token(): void {
    const c = this.text[this.i]!;
    const next = this.text[this.i + 1];
    if (/\s/.test(c)) {
      this.i++;
    } else if (c === '/' && next === '/') {
      const newline = this.text.indexOf('\n', this.i);
      this.i = newline < 0 ? this.text.length : newline;
    } else if (c === '/' && next === '*') {
      const close = this.text.indexOf('*/', this.i + 2);
      if (close < 0) throw UNSURE;
      this.i = close + 2;
    } else if (c === '/') {
      const division = /[\w$)\]]/.test(this.previous) && !OPERATOR_WORDS.has(this.previousWord);
      if (!division) throw UNSURE;
      this.code(c);
    } else if (c === '"' || c === "'") {
      this.string(c);
    } else if (c === '`') {
      this.template();
    } else if (/[\w$]/.test(c)) {
      const word = /[\w$]+/y;
      word.lastIndex = this.i;
      const match = word.exec(this.text)![0];
      this.i += match.length;
      this.previous = match[match.length - 1]!;
      this.previousWord = match;
    } else {
      this.code(c);
    }
  }

  private code(c: string): void {
    this.i++;
    this.previous = c;
    this.previousWord = '';
  }

  private string(quote: string): void {
    for (this.i++; this.i < this.text.length; this.i++) {
      const c = this.text[this.i];
      if (c === '\\') this.i++;
      else if (c === '\n') throw UNSURE;
      else if (c === quote) {
        this.code(quote);
        return;
      }
    }
    throw UNSURE;
  }

  private template(): void {
    for (this.i++; this.i < this.text.length; ) {
      const c = this.text[this.i];
      if (c === '\\') {
        this.i += 2;
      } else if (c === '`') {
        this.code('`');
        return;
      } else if (c === '$' && this.text[this.i + 1] === '{') {
        this.i++;
        this.balanced();
      } else {
        this.i++;
      }
    }
    throw UNSURE;
  }
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function withoutLeadingComments(text: string): string {
  let rest = text.trim();
  for (;;) {
    if (rest.startsWith('//')) {
      const newline = rest.indexOf('\n');
      rest = newline < 0 ? '' : rest.slice(newline + 1).trim();
    } else if (rest.startsWith('/*')) {
      const close = rest.indexOf('*/');
      rest = close < 0 ? '' : rest.slice(close + 2).trim();
    } else {
      return rest;
    }
  }
}
