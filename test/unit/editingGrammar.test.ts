/**
 * The TOML grammar's regexes must mean the same in VS Code's Oniguruma as here in JavaScript, so
 * they keep to the common subset. This compiles every one and checks what the value rules match.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const grammar = JSON.parse(fs.readFileSync(path.join(ROOT, 'syntaxes/toml.tmLanguage.json'), 'utf8')) as Rule;

interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  patterns?: Rule[];
  repository?: Record<string, Rule>;
  captures?: Record<string, Rule>;
  beginCaptures?: Record<string, Rule>;
  endCaptures?: Record<string, Rule>;
}

/** Constructs only Oniguruma knows (or reads differently), which JavaScript would reject or misread. */
const ONIGURUMA_ONLY = /\\[AGzZhHK]|\(\?[imx-]+[:)]|\(\?<[a-zA-Z]|[*+?}]\+|\\p\{/;

function* regexesOf(rule: Rule, where: string): Generator<[string, string]> {
  for (const field of ['match', 'begin', 'end'] as const) {
    const source = rule[field];
    if (source !== undefined) yield [`${where}.${field}`, source];
  }
  for (const [index, child] of (rule.patterns ?? []).entries()) yield* regexesOf(child, `${where}.patterns[${index}]`);
  for (const group of ['repository', 'captures', 'beginCaptures', 'endCaptures'] as const) {
    for (const [name, child] of Object.entries(rule[group] ?? {})) yield* regexesOf(child, `${where}.${group}.${name}`);
  }
}

function valueRule(name: string): RegExp {
  const rules = grammar.repository?.[name]?.patterns ?? [grammar.repository?.[name] as Rule];
  return new RegExp(rules.map((rule) => `(?:${rule.match})`).join('|'));
}

function matchesWhole(rule: RegExp, text: string): boolean {
  const match = rule.exec(text);
  return match !== null && match[0] === text;
}

describe('TOML grammar', () => {
  it('is the toml language with scope source.toml, like Even Better TOML', () => {
    assert.strictEqual(grammar.name, 'TOML');
    assert.strictEqual((grammar as { scopeName?: string }).scopeName, 'source.toml');
  });

  it('has only regexes that compile in JavaScript and avoid Oniguruma-only syntax', () => {
    const regexes = [...regexesOf(grammar, 'grammar')];
    assert.ok(regexes.length > 30, `only ${regexes.length} regexes found`);
    for (const [where, source] of regexes) {
      assert.doesNotThrow(() => new RegExp(source), `${where}: ${source}`);
      assert.doesNotMatch(source, ONIGURUMA_ONLY, `${where} uses Oniguruma-only syntax: ${source}`);
    }
  });

  it('tells dates and times from numbers', () => {
    const dateTime = valueRule('dateTime');
    for (const text of ['1979-05-27T07:32:00Z', '1979-05-27 07:32:00.999-07:00', '1979-05-27t07:32:00', '1979-05-27', '07:32:00.5']) {
      assert.ok(matchesWhole(dateTime, text), text);
    }
    assert.ok(!matchesWhole(dateTime, '1979'));
  });

  it('matches every integer and float form of TOML 1.0, and no malformed one', () => {
    const integer = valueRule('integer');
    for (const text of ['+99', '-17', '0', '1_000', '0xDEAD_beef', '0o755', '0b1101_0110']) {
      assert.ok(matchesWhole(integer, text), text);
    }
    for (const text of ['01', '1__000', '_1', '0x']) assert.ok(!matchesWhole(integer, text), text);
    const float = valueRule('float');
    for (const text of ['+1.0', '3.1415', '-0.01', '5e+22', '1e06', '-2E-2', '6.626e-34', '224_617.445_991', 'inf', '-inf', '+nan']) {
      assert.ok(matchesWhole(float, text), text);
    }
    for (const text of ['.7', '7.', '3.e+20']) assert.ok(!matchesWhole(float, text), text);
  });

  it('reads dotted and quoted keys before =', () => {
    const keyValue = new RegExp(grammar.repository?.keyValue.match ?? '');
    for (const text of ['name =', 'site."google.com" =', "a . 'b c' . d=", '"" =', 'bare-key_1 =']) {
      assert.ok(keyValue.test(text), text);
    }
  });
});
