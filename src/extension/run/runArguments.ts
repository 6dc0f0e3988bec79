/**
 * What "Run Job with Arguments…" asks for and remembers per job: arguments typed on one line as a
 * shell would split them ('a b' "c d" e\ f), and environment entries KEY=VALUE split the same way.
 * Pure (no vscode), so the splitting rules have unit tests of their own.
 */

export interface RunInputs {
  args: string[];
  env: string[];
}

/** Splits a line into words: whitespace separates, '…' and "…" quote, a backslash escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word = (word ?? '') + line[++i];
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new Error(`a ${quote} quote is not closed`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Joins words back into a line that splitWords reads as the same words. */
export function joinWords(words: readonly string[]): string {
  return words.map((word) => (word !== '' && /^[^\s'"\\]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`)).join(' ');
}

/** Checks environment entries: each KEY=VALUE with a non-empty KEY; returns the first problem. */
export function envProblem(entries: readonly string[]): string | undefined {
  const bad = entries.find((entry) => entry.indexOf('=') <= 0);
  return bad === undefined ? undefined : `"${bad}" is not KEY=VALUE; write each variable as KEY=VALUE, separated by spaces`;
}

const KEY = 'serval.runInputs';

interface Memento {
  get<T>(key: string, defaultValue: T): T;
  update(key: string, value: unknown): Thenable<void>;
}

/** The arguments and environment last used per job in this workspace. */
export class RememberedRunInputs {
  constructor(private readonly state: Memento) {}

  get(job: string): RunInputs | undefined {
    return this.state.get<Record<string, RunInputs>>(KEY, {})[job];
  }

  async remember(job: string, inputs: RunInputs): Promise<void> {
    const all = { ...this.state.get<Record<string, RunInputs>>(KEY, {}), [job]: inputs };
    await this.state.update(KEY, all);
  }
}
