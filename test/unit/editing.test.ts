/**
 * Manifest editing as data: completion items, hovers and quick-fix edits, asserted as the user
 * would see them (labels, inserted text, markdown, the document text after applying a fix).
 */
import * as assert from 'assert';
import { completeManifest, CompletionEntry } from '../../src/manifest/completion';
import { editDistance, nearestKey, quickFixes, TextEditData } from '../../src/manifest/fixes';
import { binaryMarkdown, formatSize, hoverManifest } from '../../src/manifest/hover';
import { checkManifest } from '../../src/manifest';
import { Problem } from '../../src/manifest/types';

const LOUDIFY = [
  'name = "loudify"',
  'namespace = "sh.serval"',
  'version = "1.2.3"',
  'binary = "loudify.wasm"',
  'description = "Upper-cases its input."',
  '',
].join('\n');

/** Where `marker` is in `text`, with the marker removed: lets tests write `version = "1|"`. */
function cursorAt(textWithCursor: string): { text: string; line: number; column: number } {
  const offset = textWithCursor.indexOf('|');
  const before = textWithCursor.slice(0, offset).split('\n');
  return { text: textWithCursor.replace('|', ''), line: before.length - 1, column: before[before.length - 1].length };
}

function labels(entries: CompletionEntry[]): string[] {
  return entries.map((entry) => entry.label);
}

/** Applies edits the way an editor does: all against the original text, back to front. */
function applyEdits(text: string, edits: readonly TextEditData[]): string {
  const lines = text.split('\n');
  const offsetOf = (position: { line: number; column: number }): number =>
    lines.slice(0, position.line).reduce((sum, line) => sum + line.length + 1, 0) + position.column;
  return [...edits]
    .sort((a, b) => offsetOf(b.start) - offsetOf(a.start))
    .reduce((result, edit) => result.slice(0, offsetOf(edit.start)) + edit.newText + result.slice(offsetOf(edit.end)), text);
}

function problemOf(text: string, code: Problem['code']): Problem {
  const problem = checkManifest(text).problems.find((candidate) => candidate.code === code);
  assert.ok(problem, `expected a ${code} problem in:\n${text}`);
  return problem;
}

describe('manifest editing: completion', () => {
  it('offers the keys not yet present, required first, as key = value snippets with docs', () => {
    const entries = completeManifest(cursorAt('name = "loudify"\nversion = "1.0.0"\n|\n'));
    assert.deepStrictEqual(labels(entries), ['namespace', 'binary', 'description', 'required_extensions', 'required_permissions', 'args', 'env', 'files']);
    const namespace = entries[0];
    assert.strictEqual(namespace.insertSnippet, 'namespace = "$1"');
    assert.match(namespace.detail, /^required string: /);
    assert.match(namespace.documentation ?? '', /reverse-DNS/);
    assert.strictEqual(entries[3].insertSnippet, 'required_extensions = [$1]');
    const sorted = [...entries].sort((a, b) => a.sortText.localeCompare(b.sortText));
    assert.deepStrictEqual(labels(sorted), labels(entries));
  });

  it('replaces the part of a key already typed, and inserts only the key before an existing =', () => {
    const typing = completeManifest(cursorAt('des|\n'));
    const description = typing.find((entry) => entry.label === 'description');
    assert.deepStrictEqual(description?.range, { line: 0, column: 0, length: 3 });
    assert.strictEqual(description?.insertSnippet, 'description = "$1"');

    const renaming = completeManifest(cursorAt('nam| = "x"\n'));
    assert.strictEqual(renaming.find((entry) => entry.label === 'namespace')?.insertSnippet, 'namespace');
  });

  it('offers nothing in comments, in values of other keys, or under a [table]', () => {
    assert.deepStrictEqual(completeManifest(cursorAt('# a comment |\n')), []);
    assert.deepStrictEqual(completeManifest(cursorAt('description = "Up|"\n')), []);
    assert.deepStrictEqual(completeManifest(cursorAt('name = "x"\n[extra]\n|\n')), []);
  });

  it('offers the patch, minor and major bumps of the version, the patch first', () => {
    const entries = completeManifest(cursorAt(LOUDIFY.replace('"1.2.3"', '"1.2.3|"')));
    assert.deepStrictEqual(labels(entries), ['1.2.4', '1.3.0', '2.0.0']);
    assert.strictEqual(entries[0].insertSnippet, '"1.2.4"');
    assert.strictEqual(entries[0].preselect, true);
    assert.deepStrictEqual(entries[0].range, { line: 2, column: 10, length: 7 });
    assert.match(entries[1].detail, /minor: 1\.2\.3 → 1\.3\.0/);
  });

  it('offers the release of a pre-release version, and first versions for a non-semver one', () => {
    assert.deepStrictEqual(labels(completeManifest(cursorAt('version = "2.0.0-rc.1|"'))), ['2.0.0', '2.0.1', '2.1.0', '3.0.0']);
    assert.deepStrictEqual(labels(completeManifest(cursorAt('version = |'))), ['0.1.0', '1.0.0']);
  });

  it('offers the workspace .wasm files for binary, nearest first, quoted and escaped', () => {
    const request = cursorAt('binary = "|"\n');
    const entries = completeManifest({ ...request, wasmFiles: ['../other/b.wasm', 'build/a.wasm', 'job.wasm'] });
    assert.deepStrictEqual(labels(entries), ['job.wasm', 'build/a.wasm', '../other/b.wasm']);
    assert.strictEqual(entries[0].insertSnippet, '"job.wasm"');
    const odd = completeManifest({ ...request, wasmFiles: ['$weird}.wasm'] });
    assert.strictEqual(odd[0].insertSnippet, '"\\$weird\\}.wasm"');
  });

  it('offers the permissions not yet listed, inside the list, replacing a half-typed string', () => {
    const entries = completeManifest(cursorAt('required_permissions = ["proc:read:*", |]'));
    assert.deepStrictEqual(labels(entries), ['extension:NAME', 'extension:*']);
    assert.strictEqual(entries[0].insertSnippet, '"extension:${1:NAME}"');
    assert.deepStrictEqual(entries[0].range, { line: 0, column: 39, length: 0 });

    const typing = completeManifest(cursorAt('required_permissions = ["pro|"]'));
    assert.deepStrictEqual(typing[0].range, { line: 0, column: 24, length: 5 });
    assert.strictEqual(typing[0].filterText, '"proc:read:*"');
  });

  it('offers permissions on the lines of a multi-line list', () => {
    const entries = completeManifest(cursorAt('required_permissions = [\n  "proc:read:*",\n  |\n]\n'));
    assert.ok(labels(entries).includes('extension:*'));
  });
});

describe('manifest editing: hover', () => {
  it('shows the documentation of a key and the fully-qualified name', () => {
    const hover = hoverManifest({ ...cursorAt(LOUDIFY.replace('namespace', 'name|space')) });
    assert.ok(hover);
    assert.match(hover.markdown[0], /^\*\*namespace\*\* \(required, string\)/);
    assert.match(hover.markdown[0], /reverse-DNS/);
    assert.match(hover.markdown[1], /Fully-qualified name: `sh\.serval\.loudify`/);
    assert.deepStrictEqual(hover.range, { line: 1, column: 0, length: 23 });
  });

  it('shows the fully-qualified name anywhere in the file, and why there is none', () => {
    const onComment = hoverManifest(cursorAt(`# my | job\n${LOUDIFY.replace('"loudify"', '"Loud-ify"')}`));
    assert.deepStrictEqual(onComment, { markdown: ['Fully-qualified name: `sh.serval.loud_ify` (the agent stores and runs this job under it)'] });
    const noNamespace = hoverManifest(cursorAt('name = "x|"'));
    assert.match(noNamespace?.markdown.at(-1) ?? '', /needs both `name` and `namespace`/);
    const badName = hoverManifest(cursorAt('name = "a b|"\nnamespace = "sh.serval"'));
    assert.match(badName?.markdown.at(-1) ?? '', /none until `name` and `namespace` follow the naming rules/);
  });

  it('explains an unknown key and names the nearest known one', () => {
    const hover = hoverManifest(cursorAt('nmae| = "x"'));
    assert.strictEqual(hover?.markdown[0], '**nmae** is not a manifest key: the agent keeps it but does not use it. Did you mean `name`?');
  });

  it('shows the resolved path, size, exports and imports of the binary', () => {
    const hover = hoverManifest({
      ...cursorAt(LOUDIFY.replace('binary =', 'bin|ary =')),
      binary: {
        resolvedPath: '/work/jobs/loudify.wasm',
        size: 2560,
        exports: ['memory', '_start'],
        imports: [
          { module: 'wasi_snapshot_preview1', name: 'fd_read' },
          { module: 'wasi_snapshot_preview1', name: 'fd_write' },
          { module: 'birdfeeder', name: 'seed' },
        ],
      },
    });
    assert.strictEqual(
      hover?.markdown[1],
      'Resolves to `/work/jobs/loudify.wasm` (2.5 KiB)\n\nExports: `memory`, `_start`\n\n' +
        'Imports: `wasi_snapshot_preview1`: `fd_read`, `fd_write`; `birdfeeder`: `seed`',
    );
  });

  it('says why a binary cannot be read', () => {
    const markdown = binaryMarkdown({ resolvedPath: '/x/missing.wasm', error: 'No such file: build the job first, or fix the path.' });
    assert.strictEqual(markdown, 'Resolves to `/x/missing.wasm`\n\n$(warning) No such file: build the job first, or fix the path.');
    assert.strictEqual(formatSize(999), '999 bytes');
    assert.strictEqual(formatSize(3 * 1024 * 1024), '3.0 MiB');
  });
});

describe('manifest editing: quick fixes', () => {
  it('adds a missing required key after the keys that come before it, with a valid value', () => {
    const text = 'name = "loudify"\nversion = "1.0.0"\nbinary = "loudify.wasm"\ndescription = "Loud."\n';
    const fixes = quickFixes({ text, problem: problemOf(text, 'missing-key') });
    assert.strictEqual(fixes[0].title, "Add the missing key 'namespace'");
    assert.strictEqual(fixes[0].isPreferred, true);
    const fixed = applyEdits(text, fixes[0].edits);
    assert.strictEqual(fixed, 'name = "loudify"\nnamespace = "com.example"\nversion = "1.0.0"\nbinary = "loudify.wasm"\ndescription = "Loud."\n');
    assert.deepStrictEqual(checkManifest(fixed).problems, []);
  });

  it('adds a missing name from the folder name, made valid, at the top', () => {
    const text = 'namespace = "sh.serval"\nversion = "1.0.0"\nbinary = "a.wasm"\ndescription = "A."\n';
    const fixes = quickFixes({ text, problem: problemOf(text, 'missing-key'), folderName: 'my job' });
    assert.strictEqual(applyEdits(text, fixes[0].edits), `name = "my-job"\n${text}`);
  });

  it('replaces an unknown key by the nearest known one, or removes it', () => {
    const text = `${LOUDIFY}descripton = "typo"\n`.replace('description = "Upper-cases its input."\n', '');
    const fixes = quickFixes({ text, problem: problemOf(text, 'unknown-key') });
    assert.deepStrictEqual(fixes.map((fix) => fix.title), ["Change 'descripton' to 'description'", "Remove the unknown key 'descripton'"]);
    assert.match(applyEdits(text, fixes[0].edits), /\ndescription = "typo"\n$/);
    assert.strictEqual(applyEdits(text, fixes[1].edits), text.replace('descripton = "typo"\n', ''));
  });

  it('does not guess a key when nothing is close', () => {
    assert.strictEqual(nearestKey('colour', ['name', 'binary']), undefined);
    assert.strictEqual(nearestKey('Binray', ['name', 'binary']), 'binary');
    assert.strictEqual(editDistance('nmae', 'name'), 1);
  });

  it('turns a name into an allowed one', () => {
    const text = LOUDIFY.replace('"loudify"', '"Loud ify!"');
    const fixes = quickFixes({ text, problem: problemOf(text, 'invalid-name') });
    assert.strictEqual(fixes[0].title, "Change name to 'Loud-ify'");
    assert.match(applyEdits(text, fixes[0].edits), /^name = "Loud-ify"\n/);
  });

  it('points binary at the closest .wasm of the workspace', () => {
    const text = LOUDIFY.replace('"loudify.wasm"', '"build/loudfy.wasm"');
    const problem: Problem = { code: 'binary-not-found', severity: 'error', key: 'binary', message: 'not found', range: { line: 3, column: 9, length: 19 } };
    const fixes = quickFixes({ text, problem, wasmFiles: ['other.wasm', 'loudify.wasm'] });
    assert.deepStrictEqual(fixes.map((fix) => [fix.title, fix.isPreferred]), [
      ["Use 'loudify.wasm' as the binary", true],
      ["Use 'other.wasm' as the binary", false],
    ]);
    assert.match(applyEdits(text, fixes[0].edits), /\nbinary = "loudify.wasm"\n/);
  });

  it('offers the .wasm next to the manifest before another job\'s, however close its name', () => {
    const text = LOUDIFY.replace('"loudify.wasm"', '"wordfreqq.wasm"');
    const problem: Problem = { code: 'binary-not-found', severity: 'error', key: 'binary', message: 'not found', range: { line: 3, column: 9, length: 16 } };
    const fixes = quickFixes({ text, problem, wasmFiles: ['../wordfreq/wordfreq.wasm', 'build/loudify.wasm', 'loudify.wasm'] });
    assert.deepStrictEqual(fixes.map((fix) => fix.title), [
      "Use 'loudify.wasm' as the binary",
      "Use 'build/loudify.wasm' as the binary",
      "Use '../wordfreq/wordfreq.wasm' as the binary",
    ]);
  });

  it('puts a lone string in brackets, as the message says, or empties the list', () => {
    const text = `${LOUDIFY}required_extensions = "none"\n`;
    const problem = problemOf(text, 'wrong-type');
    assert.match(problem.message, /Put it in brackets: required_extensions = \["none"\]/);
    const fixes = quickFixes({ text, problem });
    assert.deepStrictEqual(fixes.map((fix) => [fix.title, fix.isPreferred]), [
      ['Put it in brackets: required_extensions = ["none"]', true],
      ['Make it an empty list: required_extensions = []', false],
    ]);
    assert.match(applyEdits(text, fixes[0].edits), /\nrequired_extensions = \["none"\]\n/);
    assert.match(applyEdits(text, fixes[1].edits), /\nrequired_extensions = \[\]\n/);
  });

  it('quotes a number where a string belongs, as the message says', () => {
    const text = LOUDIFY.replace(/description = "[^"]*"/, 'description = 42');
    const problem = problemOf(text, 'wrong-type');
    assert.match(problem.message, /Quote it: description = "42"/);
    const fixes = quickFixes({ text, problem });
    assert.deepStrictEqual(fixes.map((fix) => fix.title), ['Quote it: description = "42"']);
    assert.match(applyEdits(text, fixes[0].edits), /\ndescription = "42"\n/);
  });
});
