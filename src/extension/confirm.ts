import * as vscode from 'vscode';

/** A yes/no question asked before something that cannot be undone or that the user may not expect. */
export interface Confirmation {
  message: string;
  detail?: string;
  /** The button that goes ahead, e.g. "Delete"; the dialog's own Cancel is the other answer. */
  action: string;
  /** Warning (default) for destructive or risky steps, information for a plain check. */
  severity?: 'warning' | 'information';
}

/** A question with several answers, e.g. Replace / Bump Version; the dialog's Cancel is one more. */
export interface Choice {
  message: string;
  detail?: string;
  actions: readonly string[];
}

/** Resolves with the action chosen, or undefined for Cancel. */
export type Choose = (question: Choice) => Promise<string | undefined>;

/** The real choice: a modal warning with one button per action. */
export const chooseModally: Choose = async ({ message, detail, actions }) =>
  vscode.window.showWarningMessage(message, { modal: true, detail }, ...actions);

/** Resolves true when the user chose the action. */
export type Confirm = (question: Confirmation) => Promise<boolean>;

/** The real confirmation: a modal dialog, so the answer is deliberate. */
export const askModally: Confirm = async ({ message, detail, action, severity = 'warning' }) => {
  const show = severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const choice = await show(message, { modal: true, detail }, action);
  return choice === action;
};
