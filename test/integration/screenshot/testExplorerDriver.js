// Sets up the screen of docs/test-explorer-diff.png as a user would: break one expectation of the
// loudify sample (tests/hello.out), run every job test from the Test Explorer, and let VS Code open
// the failure's peek with its expected/actual diff. take.mjs loads it with DRIVER=testExplorerDriver.js;
// its run() never resolves, so the workbench stays as it is until the screenshot is taken.
const vscode = require('vscode');

async function run() {
  const serval = vscode.extensions.getExtension('serval.serval-vscode');
  const api = await serval.activate();
  const folder = vscode.workspace.workspaceFolders[0].uri;
  const helloOut = vscode.Uri.joinPath(folder, 'loudify', 'tests', 'hello.out');
  await vscode.workspace.fs.writeFile(helloOut, Buffer.from('HELLO WORLD\n'));
  await api.jobTests.tree.rediscover();
  const testing = vscode.workspace.getConfiguration('testing');
  await testing.update('automaticallyOpenPeekView', 'failureAnywhere', vscode.ConfigurationTarget.Global);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
  await vscode.commands.executeCommand('workbench.action.closePanel');
  await vscode.commands.executeCommand('notifications.clearAll');
  await vscode.commands.executeCommand('workbench.view.testing.focus');
  await vscode.commands.executeCommand('testing.runAll');
  await vscode.commands.executeCommand('notifications.clearAll');
  console.log('screenshot driver: ready');
  await new Promise(() => {});
}

module.exports = { run };
