/**
 * Keeps schemas/manifest.schema.json in lock-step with keys.ts and names.ts: Taplo (Even Better
 * TOML) users see the same keys, types, documentation and name rules as users of our diagnostics.
 */
import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { KEY_INFO } from '../../src/manifest/keys';
import { checkName, checkNamespace, checkVersion } from '../../src/manifest/names';
import { MANIFEST_KEYS } from '../../src/manifest/types';
import { NAME_CASES, NAMESPACE_CASES, VERSION_CASES } from './manifestNameCases';

interface PropertySchema {
  type: string;
  title: string;
  description: string;
  markdownDescription: string;
  items?: { type: string };
  additionalProperties?: { type: string };
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  examples?: unknown[];
}

interface Schema {
  $schema: string;
  $id: string;
  required: string[];
  properties: Record<string, PropertySchema>;
  additionalProperties: boolean;
}

const SCHEMA_PATH = path.resolve(__dirname, '../../../schemas/manifest.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
const FIX = 'update schemas/manifest.schema.json to match src/manifest/keys.ts and names.ts';

/** What a JSON Schema validator decides for one string property. */
function schemaAccepts(property: PropertySchema, value: string): boolean {
  const length = [...value].length; // JSON Schema counts code points
  if (property.minLength !== undefined && length < property.minLength) return false;
  if (property.maxLength !== undefined && length > property.maxLength) return false;
  return property.pattern === undefined || new RegExp(property.pattern, 'u').test(value);
}

describe('manifest JSON Schema', () => {
  it('is a draft-07 schema with the published $id that allows unknown keys', () => {
    assert.strictEqual(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.strictEqual(schema.$id, 'https://raw.githubusercontent.com/serval/serval-vscode/main/schemas/manifest.schema.json');
    assert.strictEqual(schema.additionalProperties, true);
  });

  it('documents the same keys, required set and types as KEY_INFO', () => {
    assert.deepStrictEqual(Object.keys(schema.properties), [...MANIFEST_KEYS], FIX);
    const required = MANIFEST_KEYS.filter((key) => KEY_INFO[key].required);
    assert.deepStrictEqual(schema.required, required, FIX);
    for (const key of MANIFEST_KEYS) {
      const property = schema.properties[key];
      const type =
        property.type === 'array' && property.items?.type === 'string'
          ? 'string[]'
          : property.type === 'object' && property.additionalProperties?.type === 'string'
            ? 'table'
            : property.type;
      assert.strictEqual(type, KEY_INFO[key].type, `${key}: ${FIX}`);
    }
  });

  it('carries the texts of KEY_INFO', () => {
    for (const key of MANIFEST_KEYS) {
      const property = schema.properties[key];
      assert.strictEqual(property.title, KEY_INFO[key].summary, `${key} title: ${FIX}`);
      assert.strictEqual(property.markdownDescription, KEY_INFO[key].documentation, `${key} markdownDescription: ${FIX}`);
      assert.ok(property.description.length > 0, `${key} needs a plain description`);
    }
  });

  it('accepts and refuses the same names, namespaces and versions as the check functions', () => {
    const tables = [
      { key: 'name', cases: NAME_CASES, check: checkName },
      { key: 'namespace', cases: NAMESPACE_CASES, check: checkNamespace },
      { key: 'version', cases: VERSION_CASES, check: checkVersion },
    ];
    for (const { key, cases, check } of tables) {
      for (const [value] of cases) {
        const byCheck = check(value) === undefined;
        assert.strictEqual(schemaAccepts(schema.properties[key], value), byCheck, `${key} ${JSON.stringify(value)}: ${FIX}`);
      }
    }
  });

  it('uses patterns without look-arounds, which Taplo (Rust regex) cannot run', () => {
    for (const property of Object.values(schema.properties)) {
      assert.ok(!/\(\?[=!<]/.test(property.pattern ?? ''), property.pattern);
    }
  });
});
