// Sets up the screen of docs/tree-and-output.png the way a user would, through the Serval
// extension's own commands: publish the samples, run loudify on an untitled editor, reveal the
// version in the tree. take.mjs loads it as the "extension tests" module of a UI-mode run; its
// run() never resolves, so the workbench stays as it is until the screenshot is taken.
const vscode = require('vscode');

const INPUT = [
  'Hello from Serval!',
  '',
  'This untitled editor is the',
  'input of sh.serval.loudify,',
  'a WASI job published to the',
  'local agent from samples/.',
  '',
  'Its output opened beside it;',
  'the focus stayed here.',
  '',
].join('\n');

async function run() {
  const serval = vscode.extensions.getExtension('serval.serval-vscode');
  const api = await serval.activate();
  const folder = vscode.workspace.workspaceFolders[0].uri;
  for (const job of ['loudify', 'wordfreq', 'fail']) {
    await vscode.commands.executeCommand('serval.publish', vscode.Uri.joinPath(folder, job, 'manifest.toml'));
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
  await vscode.commands.executeCommand('notifications.clearAll');
  await vscode.commands.executeCommand('workbench.view.extension.serval');
  await api.ctx.tree.revealVersion('sh.serval.loudify', '1.0.0');
  // The agent node adds a level of indentation: widen the side bar so the version's details fit
  // (the resize commands act on the editor part here, so narrowing it widens the side bar).
  for (let step = 0; step < 2; step++) await vscode.commands.executeCommand('workbench.action.decreaseViewWidth');
  const input = await vscode.workspace.openTextDocument({ content: INPUT, language: 'plaintext' });
  await vscode.window.showTextDocument(input);
  await vscode.commands.executeCommand('serval.runOnActiveFile', { job: 'sh.serval.loudify' });
  await vscode.commands.executeCommand('notifications.clearAll');
  console.log('screenshot driver: ready');
  await new Promise(() => {});
}

module.exports = { run };
