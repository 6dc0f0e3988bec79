/** The component host's wasi:io streams (src/agent/runner/component/io.ts): what a guest can make the host hold. */
import * as assert from 'node:assert/strict';
import { OutputStream } from '../../src/agent/runner/component/io';

describe('component host: output streams', () => {
  it('writes the zeroes a guest asks for in small slices, so that 2 GiB of them cost the host no 2 GiB buffer', () => {
    let written = 0;
    let largest = 0;
    const limited = new OutputStream({
      write(chunk) {
        largest = Math.max(largest, chunk.byteLength);
        written += chunk.byteLength;
        if (written >= 1 << 20) throw new Error('output limit reached');
      },
    });
    assert.throws(() => limited.writeZeroes(2n ** 31n), /output limit reached/);
    assert.ok(largest <= 64 * 1024, `a slice of ${largest} bytes`);
    written = 0;
    const counted = new OutputStream({ write: (chunk) => void (written += chunk.byteLength) });
    counted.blockingWriteZeroesAndFlush(100_000n);
    assert.equal(written, 100_000);
  });
});
