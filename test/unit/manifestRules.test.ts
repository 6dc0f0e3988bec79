import * as assert from 'assert';
import { MAX_UNKNOWN_KEY_WARNINGS, checkManifest } from '../../src/manifest/rules';
import { ProblemCode, Severity, TextRange } from '../../src/manifest/types';
import { VALID_MANIFEST, rangeOf, withLine } from './manifestTestText';

interface Expected {
  code: ProblemCode;
  severity: Severity;
  message: string;
  range: TextRange;
  key?: string;
}

interface Case {
  title: string;
  text: string;
  problems: Expected[];
}

function expectedFor(text: string, code: ProblemCode, severity: Severity, snippet: string, message: string, key?: string, occurrence = 1): Expected {
  return { code, severity, message, range: rangeOf(text, snippet, occurrence), ...(key !== undefined && { key }) };
}

const CASES: Case[] = (() => {
  const cases: Case[] = [];
  const add = (title: string, text: string, ...problems: [ProblemCode, Severity, string, string, string?, number?][]): void => {
    cases.push({ title, text, problems: problems.map((p) => expectedFor(text, ...p)) });
  };

  /** For problems whose range is clearer written out than found by a snippet. */
  const setProblems = (...problems: Expected[]): void => {
    cases[cases.length - 1].problems = problems;
  };

  add('a valid manifest has no problem', VALID_MANIFEST);

  let text = withLine('name', 'name = "Bad Name"');
  add('an invalid name underlines the value with its quotes', text, [
    'invalid-name', 'error', '"Bad Name"', "name must be 1-64 characters of A-Z a-z 0-9 _ -; 'Bad Name' has a space", 'name',
  ]);

  text = withLine('namespace', "namespace = 'sh..serval'  # owner");
  add('an invalid namespace in a literal string', text, ['invalid-namespace', 'error', "'sh..serval'", 'has an empty segment', 'namespace']);

  text = withLine('version', 'version = "1.0 beta"');
  add('an invalid version', text, ['invalid-version', 'error', '"1.0 beta"', "'1.0 beta' has a space", 'version']);

  text = withLine('description', 'description = "  "');
  add('an empty description is a warning', text, ['empty-description', 'warning', '"  "', 'description is empty', 'description']);

  text = withLine('name', 'nmae = "loudify"');
  add(
    'a misspelt key is unknown and its required key missing',
    text,
    ['missing-key', 'error', '# A job that shouts.', "The required key 'name' is missing", 'name'],
    ['unknown-key', 'warning', 'nmae', "Unknown key 'nmae': the agent keeps it but does not use it. Did you mean 'name'?", 'nmae'],
  );

  text = withLine('version', 'version = 1.0');
  add('a number where a string belongs', text, ['wrong-type', 'error', '1.0', "'version' must be a string, e.g. version = \"1.0.0\"; it is a number", 'version']);

  text = `${VALID_MANIFEST}required_extensions = "birdfeeder"\n`;
  add('a string where a list belongs, with the fix in the message', text, [
    'wrong-type', 'error', '"birdfeeder"', 'Put it in brackets: required_extensions = ["birdfeeder"]', 'required_extensions',
  ]);

  text = `${VALID_MANIFEST}required_permissions = [\n  "proc:read:*",\n  42,\n  true,\n]\n`;
  add(
    'list items that are not strings, each at its own range',
    text,
    ['invalid-list-item', 'error', '42', "Each item of 'required_permissions' must be a string; item 2 is a number. Quote it: \"42\"", 'required_permissions'],
    ['invalid-list-item', 'error', 'true', 'item 3 is a boolean', 'required_permissions'],
  );

  text = `${VALID_MANIFEST}[name]\nfirst = "x"\n`.replace('name = "loudify"\n', '');
  add('a table where a string belongs underlines the header key', text, ['wrong-type', 'error', 'name', 'it is a table', 'name', 2]);

  text = withLine('name', 'name.first = "loud"');
  add('a dotted key that makes a table of a string key underlines the key', text, [
    'wrong-type', 'error', 'name.first', "'name' must be a string", 'name',
  ]);

  text = withLine('binary', 'binary = "/home/me/job.wasm"');
  add('an absolute binary path is a warning', text, ['invalid-binary', 'warning', '"/home/me/job.wasm"', 'absolute path', 'binary']);

  text = withLine('binary', 'binary = "target\\\\job.wasm"');
  add('backslashes in the binary path are a warning', text, ['invalid-binary', 'warning', '"target\\\\job.wasm"', "use '/' instead", 'binary']);

  text = withLine('binary', 'binary = ""');
  add('an empty binary is an error', text, ['invalid-binary', 'error', '""', 'binary is empty', 'binary']);

  text = `${VALID_MANIFEST}authors = ["me"]\n[build]\ncommand = "make"\n`;
  add(
    'unknown keys and tables are warnings',
    text,
    ['unknown-key', 'warning', 'authors', "Unknown key 'authors'", 'authors'],
    ['unknown-key', 'warning', 'build', "Unknown key 'build'", 'build'],
  );

  text = withLine('name', 'name = """\nBad Name"""');
  add('a multi-line string value is underlined whole', text, ['invalid-name', 'error', '"""\nBad Name"""', "'Bad Name' has a space", 'name']);

  text = withLine('name', 'name = "Bad Name"').replace(/\n/g, '\r\n');
  add('CRLF line ends do not shift ranges', text, ['invalid-name', 'error', '"Bad Name"', 'has a space', 'name']);

  text = withLine('description', 'description = "Shouts 😀"').replace('name = "loudify"', 'name = "é"');
  add('columns count UTF-16 units', text, ['invalid-name', 'error', '"é"', "has 'é'", 'name']);

  text = `${VALID_MANIFEST}name = "again"\n`;
  add('a duplicate key is a syntax error at the second key', text);
  setProblems({ code: 'toml-syntax', severity: 'error', message: "'name' is defined twice (line 7, column 1)", range: { line: 6, column: 0, length: 4 } });

  text = withLine('version', 'version = ');
  add('a missing value is a syntax error where smol-toml stops', text);
  setProblems({ code: 'toml-syntax', severity: 'error', message: 'Invalid TOML at line 4, column 11: invalid value', range: { line: 3, column: 10, length: 0 } });

  text = withLine('version', 'version = "1.0');
  add('an unclosed string is a syntax error that says so', text, [
    'toml-syntax', 'error', '"1.0', 'Invalid TOML at line 4, column 15: this string is not closed; add its closing quote.',
  ]);

  add(
    'an empty document misses every required key, shown at the document start',
    '',
    ...(['name', 'namespace', 'version', 'binary', 'description'] as const).map(
      (key): [ProblemCode, Severity, string, string, string] => ['missing-key', 'error', '', `The required key '${key}' is missing`, key],
    ),
  );
  return cases;
})();

describe('checkManifest', () => {
  for (const testCase of CASES) {
    it(testCase.title, () => {
      const { problems, manifest } = checkManifest(testCase.text);
      const actual = problems.map((p) => ({ code: p.code, severity: p.severity, range: p.range, key: p.key }));
      const expected = testCase.problems.map((p) => ({ code: p.code, severity: p.severity, range: p.range, key: p.key }));
      assert.deepStrictEqual(actual, expected);
      problems.forEach((problem, index) => {
        assert.ok(problem.message.includes(testCase.problems[index].message), `"${testCase.problems[index].message}" not in: ${problem.message}`);
      });
      const hasError = problems.some((p) => p.severity === 'error');
      assert.strictEqual(manifest === undefined, hasError, 'a manifest is returned exactly when there is no error');
    });
  }

  it('returns the parsed manifest with defaults and unknown keys kept', () => {
    const { manifest, problems } = checkManifest(`${VALID_MANIFEST}required_permissions = ["proc:read:*"]\nauthors = ["me"]\n`);
    assert.deepStrictEqual(problems.map((p) => p.code), ['unknown-key']);
    assert.deepStrictEqual(manifest, {
      name: 'loudify',
      namespace: 'sh.serval',
      version: '1.0.0',
      binary: 'loudify.wasm',
      description: 'Turns its input into upper case.',
      required_extensions: [],
      required_permissions: ['proc:read:*'],
      args: [],
      env: {},
      unknown: { authors: ['me'] },
    });
  });

  it('reads args, an [env] table and files, and refuses environment entries no program could see', () => {
    const text = `${VALID_MANIFEST}args = ["-v", "in put"]\nfiles = "data"\n[env]\nLOG = "debug"\nEMPTY = ""\n`;
    const { manifest, problems } = checkManifest(text);
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual([manifest?.args, manifest?.env, manifest?.files], [['-v', 'in put'], { LOG: 'debug', EMPTY: '' }, 'data']);
    const bad = checkManifest(`${VALID_MANIFEST}[env]\nCOUNT = 3\n`).problems;
    assert.deepStrictEqual(bad.map((p) => [p.code, p.message]), [['invalid-env', 'The environment variable COUNT must be a string; it is a number. Quote it: COUNT = "3"']]);
    assert.deepStrictEqual(checkManifest(`${VALID_MANIFEST}env = "A=1"\n`).problems.map((p) => p.code), ['wrong-type']);
    assert.deepStrictEqual(checkManifest(`${VALID_MANIFEST}files = ""\n`).problems.map((p) => p.code), ['invalid-files']);
  });

  it('reports every problem of a manifest at once, in document order', () => {
    const text = 'name = "a b"\nnamespace = ""\nversion = "1 0"\nbinary = 3\ndescription = ""\n';
    assert.deepStrictEqual(
      checkManifest(text).problems.map((p) => [p.code, p.range.line]),
      [['invalid-name', 0], ['invalid-namespace', 1], ['invalid-version', 2], ['wrong-type', 3], ['empty-description', 4]],
    );
  });

  it('bounds its work on hostile manifests: at most 100 unknown-key warnings, then one summary', () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `key${i} = 1\n`).join('');
    const problems = checkManifest(`${VALID_MANIFEST}${keys}`).problems;
    assert.equal(problems.length, MAX_UNKNOWN_KEY_WARNINGS + 1);
    assert.match(problems[MAX_UNKNOWN_KEY_WARNINGS].message, /^4900 more unknown keys from 'key100' on/);
  });

  it('shows a very long unknown key shortened, and looks for no typo in it', () => {
    const [problem] = checkManifest(`${VALID_MANIFEST}${'n'.repeat(100_000)}ame = 1\n`).problems;
    assert.equal(problem.code, 'unknown-key');
    assert.ok(problem.message.length < 200, problem.message.slice(0, 300));
    assert.doesNotMatch(problem.message, /Did you mean/);
  });

  it('never throws on arbitrary text', () => {
    for (const text of ['[', '= 1', 'a = [1, "x"]', '\u0000', 'name = 1979-05-27', '[[name]]\n']) {
      assert.doesNotThrow(() => checkManifest(text), JSON.stringify(text));
    }
  });
});
