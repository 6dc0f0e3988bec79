import * as assert from 'assert';
import { locateKeys, rangeEnd } from '../../src/manifest/locate';
import { rangeOf } from './manifestTestText';

describe('locateKeys', () => {
  it('finds bare and quoted keys and their values, quotes included', () => {
    const text = `name = "Bad Name"\n"namespace" = 'sh.serval'\n'version'="1"  # comment\n`;
    const keys = locateKeys(text);
    assert.deepStrictEqual([...keys.keys()], ['name', 'namespace', 'version']);
    assert.deepStrictEqual(keys.get('name')?.keyRange, rangeOf(text, 'name'));
    assert.deepStrictEqual(keys.get('name')?.valueRange, rangeOf(text, '"Bad Name"'));
    assert.deepStrictEqual(keys.get('namespace')?.keyRange, rangeOf(text, '"namespace"'));
    assert.deepStrictEqual(keys.get('namespace')?.valueRange, rangeOf(text, "'sh.serval'"));
    assert.deepStrictEqual(keys.get('version')?.valueRange, rangeOf(text, '"1"'));
  });

  it('decodes escapes in quoted keys', () => {
    const keys = locateKeys('"na\\u006De" = "x"\n');
    assert.ok(keys.has('name'));
  });

  it('steps over multi-line strings that contain what looks like keys and tables', () => {
    const text = 'description = """\nname = "fake"\n[table]\n"""\nname = "real"\n';
    const keys = locateKeys(text);
    assert.deepStrictEqual(keys.get('description')?.valueRange, rangeOf(text, '"""\nname = "fake"\n[table]\n"""'));
    assert.deepStrictEqual(keys.get('name')?.valueRange, rangeOf(text, '"real"'));
  });

  it('handles escaped quotes and up to five closing quotes in multi-line strings', () => {
    const text = `a = """x \\""" y"""""\nb = '''it's'''''\nc = "q\\"q"\nname = 1\n`;
    const keys = locateKeys(text);
    assert.deepStrictEqual(keys.get('a')?.value.text, '"""x \\""" y"""""');
    assert.deepStrictEqual(keys.get('b')?.value.text, "'''it's'''''");
    assert.deepStrictEqual(keys.get('c')?.value.text, '"q\\"q"');
    assert.deepStrictEqual(keys.get('name')?.valueRange, { line: 3, column: 7, length: 1 });
  });

  it('finds the items of arrays spanning lines, with comments and trailing commas', () => {
    const text = 'required_extensions = [ # why\n  "a", 42,\n  [1, "]"], {x = "}"},\n]\nname = "n"\n';
    const location = locateKeys(text).get('required_extensions');
    assert.deepStrictEqual(location?.valueRange, rangeOf(text, '[ # why\n  "a", 42,\n  [1, "]"], {x = "}"},\n]'));
    assert.deepStrictEqual(
      location?.value.items?.map((item) => item.range),
      [rangeOf(text, '"a"'), rangeOf(text, '42'), rangeOf(text, '[1, "]"]'), rangeOf(text, '{x = "}"}')],
    );
    assert.deepStrictEqual(locateKeys(text).get('name')?.valueRange, rangeOf(text, '"n"'));
  });

  it('counts columns after CRLF line ends and in UTF-16 units', () => {
    const text = 'description = "😀 ok"\r\nname = "Bad Name"\r\n';
    const keys = locateKeys(text);
    assert.deepStrictEqual(keys.get('description')?.valueRange, { line: 0, column: 14, length: 7 });
    assert.deepStrictEqual(keys.get('name')?.valueRange, { line: 1, column: 7, length: 10 });
  });

  it('keeps a date-time with a space as one value', () => {
    const text = 'when = 1979-05-27 07:32:00Z # c\n';
    assert.deepStrictEqual(locateKeys(text).get('when')?.valueRange, rangeOf(text, '1979-05-27 07:32:00Z'));
  });

  it('records dotted keys under their first segment, with the whole key as written', () => {
    const text = 'name . first = "x"\n';
    const location = locateKeys(text).get('name');
    assert.deepStrictEqual(location?.path, ['name', 'first']);
    assert.deepStrictEqual(location?.keyRange, rangeOf(text, 'name . first'));
  });

  it('stops at the first table, but records the keys that headers define', () => {
    const text = 'version = "1"\n[namespace]\nname = "inside"\n[[items]]\nx = 1\n[namespace.sub]\n';
    const keys = locateKeys(text);
    assert.deepStrictEqual([...keys.keys()], ['version', 'namespace', 'items']);
    assert.strictEqual(keys.get('namespace')?.fromHeader, true);
    assert.deepStrictEqual(keys.get('namespace')?.keyRange, rangeOf(text, 'namespace'));
    assert.deepStrictEqual(keys.get('namespace')?.valueRange, rangeOf(text, '[namespace]'));
    assert.deepStrictEqual(keys.get('items')?.keyRange, rangeOf(text, 'items'));
  });

  it('keeps the first definition of a repeated key', () => {
    const text = 'name = "a"\nname = "b"\n';
    assert.deepStrictEqual(locateKeys(text).get('name')?.valueRange, rangeOf(text, '"a"'));
  });

  it('never throws or hangs on broken or half-typed text', () => {
    const broken = ['', '=', 'name =', 'name = "open', 'a = [1, 2', 'a = """never closed', '[', '[[x', 'a = {b = ', '= = =\n\n]]]', '"\n\'', 'x = [,,]', 'a.=1'];
    for (const text of broken) {
      assert.doesNotThrow(() => locateKeys(text), JSON.stringify(text));
    }
    const keys = locateKeys('name = "open\nversion = "1"\n');
    assert.deepStrictEqual(keys.get('name')?.value.text, '"open');
    assert.deepStrictEqual(keys.get('version')?.value.text, '"1"');
  });

  it('rangeEnd finds where a value that spans lines ends', () => {
    const text = 'a = 1\r\nlist = [\r\n  "x",\r\n]  # end\r\n';
    const range = locateKeys(text).get('list')?.valueRange;
    assert.ok(range);
    assert.deepStrictEqual(rangeEnd(text, range), { line: 3, column: 1 });
    assert.deepStrictEqual(rangeEnd(text, { line: 0, column: 4, length: 1 }), { line: 0, column: 5 });
  });
});
