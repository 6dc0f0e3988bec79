import * as assert from 'assert';
import {
  checkFullyQualifiedName,
  checkName,
  checkNamespace,
  checkVersion,
  fullyQualifiedName,
  suggestName,
  suggestNamespace,
  suggestVersion,
} from '../../src/manifest/names';
import { Case, NAME_CASES, NAMESPACE_CASES, VERSION_CASES } from './manifestNameCases';

function assertCases(check: (value: string) => string | undefined, cases: Case[]): void {
  for (const [value, expected] of cases) {
    const message = check(value);
    if (expected === undefined) {
      assert.strictEqual(message, undefined, `${JSON.stringify(value)} should be valid, got: ${message}`);
    } else {
      assert.ok(message?.includes(expected), `${JSON.stringify(value)}: expected "${expected}" in: ${message}`);
    }
  }
}

describe('manifest names', () => {
  it('checkName follows the name rule and says what broke it', () => assertCases(checkName, NAME_CASES));
  it('checkNamespace follows the namespace rule', () => assertCases(checkNamespace, NAMESPACE_CASES));
  it('checkVersion follows the version rule', () => assertCases(checkVersion, VERSION_CASES));

  it('makes control characters visible in messages', () => {
    assert.ok(checkName('a\u0007b')?.includes("'a\\u0007b' has the control character U+0007"));
  });

  it('shortens long values in messages', () => {
    const message = checkName('x'.repeat(200)) ?? '';
    assert.ok(message.includes(`'${'x'.repeat(40)}…'`), message);
    assert.ok(!message.includes('x'.repeat(41)), message);
  });

  it('fullyQualifiedName lower-cases ASCII and turns - into _', () => {
    assert.strictEqual(fullyQualifiedName('sh.serval', 'Loud-ify'), 'sh.serval.loud_ify');
    assert.strictEqual(fullyQualifiedName('Sh.Serval', 'X_Y'), 'Sh.Serval.x_y');
  });

  it('checkFullyQualifiedName accepts what fullyQualifiedName makes', () => {
    assertCases(checkFullyQualifiedName, [
      ['sh.serval.loud_ify', undefined],
      [fullyQualifiedName('a.b-c.D', 'My-Job_2'), undefined],
      ['ns.x', undefined],
      ['loudify', "'loudify' has no '.'"],
      ['sh..serval.x', 'has an empty segment'],
      ['.x', 'namespace must be'],
      ['sh.serval.', 'name must be 1-64 characters'],
      ['sh.serval.a b', "'a b' has a space"],
      ['sh.serval.Loud-ify', "use 'sh.serval.loud_ify' instead of 'sh.serval.Loud-ify'"],
    ]);
  });

  it('suggestName returns a valid name close to the input', () => {
    const cases: [string, string][] = [
      ['loudify', 'loudify'],
      ['Bad Name', 'Bad-Name'],
      ['  héllo wörld! ', 'hello-world'],
      ['a..b', 'a-b'],
      ['😀', 'job'],
      ['', 'job'],
      ['x'.repeat(80), 'x'.repeat(64)],
    ];
    for (const [input, expected] of cases) {
      assert.strictEqual(suggestName(input), expected, JSON.stringify(input));
      assert.strictEqual(checkName(suggestName(input)), undefined);
    }
  });

  it('suggestNamespace and suggestVersion return valid values', () => {
    assert.strictEqual(suggestNamespace('sh..ser val.'), 'sh.ser-val');
    assert.strictEqual(suggestNamespace('...'), 'com.example');
    assert.strictEqual(suggestNamespace('sh.serval'), 'sh.serval');
    assert.strictEqual(suggestVersion('1.0 beta'), '1.0-beta');
    assert.strictEqual(suggestVersion(' '), '0.1.0');
    for (const input of ['sh..ser val.', 'a'.repeat(70) + '.' + 'b'.repeat(70), 'é.ü']) {
      assert.strictEqual(checkNamespace(suggestNamespace(input)), undefined, input);
    }
  });
});
