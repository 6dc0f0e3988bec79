import type { RunResult } from '../client/types';
import { askModally, chooseModally, type Choice, type Choose, type Confirm, type Confirmation } from './confirm';

/** What the last job run gave; commands return it, and the test hooks keep it. */
export interface RunRecord {
  job: string;
  version?: string;
  result: RunResult;
  /** The output as text, as shown to the user. */
  output: string;
  /** The warning shown when the run did not succeed. */
  problem?: string;
}

/** A failure a command showed to the user: which command, and what the notification said. */
export interface CommandFailure {
  command: string;
  message: string;
}

/**
 * The seam between the extension and whoever drives it, given to the Ctx when it is built: the
 * real editor asks modal questions and records nothing; the integration tests answer the questions
 * (a modal dialog cannot be answered from the extension host) and read what the user was shown.
 */
export interface ExtensionHooks {
  /** Every modal confirmation (delete, stale build, publish, replace a version) goes through here. */
  confirm: Confirm;
  /** Every modal question with more than one answer (replace a stored version, or bump it). */
  choose: Choose;
  /** Called after each job run with what the user was shown. */
  didRun(record: RunRecord): void;
  /** Called when a command failed, with the message shown to the user. */
  didFail(failure: CommandFailure): void;
}

export const EDITOR_HOOKS: ExtensionHooks = {
  confirm: askModally,
  choose: chooseModally,
  didRun: () => undefined,
  didFail: () => undefined,
};

/** The hooks of an extension host started by tests (`ExtensionMode.Test`). */
export class TestHooks implements ExtensionHooks {
  lastRun: RunRecord | undefined;
  lastFailure: CommandFailure | undefined;
  /** Every question asked, oldest first. */
  readonly questions: Confirmation[] = [];
  /** How questions are answered; tests set it. By default as in the editor. */
  answer: Confirm = askModally;

  readonly confirm: Confirm = (question) => {
    this.questions.push(question);
    return this.answer(question);
  };

  /** Every multiple-choice question asked, oldest first. */
  readonly choices: Choice[] = [];
  /** How multiple-choice questions are answered; tests set it. By default as in the editor. */
  answerChoice: Choose = chooseModally;

  readonly choose: Choose = (question) => {
    this.choices.push(question);
    return this.answerChoice(question);
  };

  didRun(record: RunRecord): void {
    this.lastRun = record;
  }

  didFail(failure: CommandFailure): void {
    this.lastFailure = failure;
  }
}

/**
 * Tests written for 0.1 read `api.ctx.lastRun` / `api.ctx.lastFailure` (and clear them). In a test
 * host only, those names on the context read and write the test hooks, so such suites keep working
 * while the Ctx itself holds no test state. (`api.ctx.confirm = …` already works: it shadows the
 * Ctx's `confirm` method, through which every confirmation goes.)
 */
export function exposeOutcomesOnContext(ctx: object, hooks: TestHooks): void {
  Object.defineProperties(ctx, {
    lastRun: {
      get: () => hooks.lastRun,
      set: (record: RunRecord | undefined) => (hooks.lastRun = record),
      configurable: true,
    },
    lastFailure: {
      get: () => hooks.lastFailure,
      set: (failure: CommandFailure | undefined) => (hooks.lastFailure = failure),
      configurable: true,
    },
  });
}
