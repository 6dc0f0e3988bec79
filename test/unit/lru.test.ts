import * as assert from 'node:assert/strict';
import { LruMap } from '../../src/agent/runner/lru';

describe('LruMap', () => {
  it('keeps at most maxEntries, pushing out the least recently used', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.get('a');
    assert.deepEqual(map.set('c', 3), ['b']);
    assert.deepEqual([map.has('a'), map.has('b'), map.has('c')], [true, false, true]);
  });

  it('keeps its entries within maxWeight by their weight (bytes, not count)', () => {
    const map = new LruMap<string, Uint8Array>(64, 100, (bytes) => bytes.byteLength);
    map.set('small', new Uint8Array(10));
    map.set('big', new Uint8Array(60));
    assert.equal(map.weight, 70);
    assert.deepEqual(map.set('bigger', new Uint8Array(50)), ['small', 'big']);
    assert.deepEqual([map.size, map.weight], [1, 50]);
  });

  it('keeps the newest entry even when it alone is heavier than the budget', () => {
    const map = new LruMap<string, number>(64, 100, (weight) => weight);
    map.set('a', 10);
    assert.deepEqual(map.set('huge', 500), ['a']);
    assert.equal(map.get('huge'), 500);
    assert.deepEqual(map.set('huge', 5), [], 'a replaced entry counts once, with its new weight');
    assert.equal(map.weight, 5);
  });
});
