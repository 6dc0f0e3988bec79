/**
 * What package.json promises VS Code: activation only where jobs are, limited support of
 * untrusted workspaces, an honest virtual-workspace answer, a walkthrough whose steps each name
 * their command, and the UI that only job workspaces see.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Contribution {
  command: string;
  when?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
const contributes = manifest.contributes;

describe('package.json', () => {
  it('activates where jobs are, never on every TOML file', () => {
    assert.ok(manifest.activationEvents.includes('workspaceContains:**/manifest.toml'));
    assert.ok(!manifest.activationEvents.some((event: string) => event.startsWith('onLanguage:')), manifest.activationEvents.join(', '));
  });

  it('supports untrusted workspaces in part, says what needs trust, and runs in the workspace', () => {
    const untrusted = manifest.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, 'limited');
    assert.match(untrusted.description, /Publishing, running jobs \(job tests and live runs too\) and starting the local agent need a trusted workspace/);
    assert.deepEqual(untrusted.restrictedConfigurations, ['serval.agent.url', 'serval.publish.preTask']);
    assert.equal(manifest.capabilities.virtualWorkspaces.supported, false);
    assert.ok(manifest.capabilities.virtualWorkspaces.description);
    assert.deepEqual(manifest.extensionKind, ['workspace']);
  });

  it('contributes a Getting Started walkthrough: create a manifest, build, publish, run, each with its command', () => {
    const [walkthrough] = contributes.walkthroughs;
    assert.deepEqual(walkthrough.steps.map((step: { id: string }) => step.id), ['createManifest', 'build', 'publish', 'run']);
    for (const step of walkthrough.steps) {
      assert.match(step.description, /\]\(command:[\w.]+\)/, `${step.id} has a command button`);
      if (step.media.markdown) assert.ok(fs.existsSync(path.resolve(__dirname, '../../..', step.media.markdown)), step.media.markdown);
    }
  });

  it('shows the status bar item, run button, folder menu entry and snippets only in workspaces with a job manifest', () => {
    const runButton = contributes.menus['editor/title/run'].find((entry: Contribution) => entry.command === 'serval.runOnActiveFile');
    assert.match(runButton.when, /serval\.hasJobManifest/);
    assert.match(runButton.when, /config\.serval\.editorButton\.enabled/);
    const folderEntry = contributes.menus['explorer/context'].find((entry: Contribution) => entry.command === 'serval.newManifest');
    assert.match(folderEntry.when, /serval\.hasJobManifest/);
    assert.equal(contributes.snippets, undefined, 'snippets come from manifest completion, never in other TOML files');
    for (const setting of ['serval.codeLens.enabled', 'serval.editorButton.enabled', 'serval.statusBar.enabled']) {
      assert.equal(contributes.configuration.properties[setting]?.default, true, setting);
    }
  });

  it('binds Re-run Last Job to a key', () => {
    const binding = contributes.keybindings.find((entry: Contribution) => entry.command === 'serval.rerunLastJob');
    assert.ok(binding?.key);
  });

  it('declares every command it registers, with a title', () => {
    const titles = new Map(contributes.commands.map((entry: { command: string; title: string }) => [entry.command, entry.title]));
    for (const id of ['serval.runOnFile', 'serval.rerunLastJob']) assert.ok(titles.get(id), id);
  });
});
