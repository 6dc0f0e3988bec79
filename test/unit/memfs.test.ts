/** The in-memory filesystem of a run (src/agent/runner/memfs.ts): costs that a job can drive. */
import * as assert from 'node:assert/strict';
import { FsError, MemFs } from '../../src/agent/runner/memfs';

describe('MemFs', () => {
  it('copies a file written chunk by chunk a few times in all, not once per chunk', () => {
    const fs = new MemFs();
    const file = fs.open(fs.root, 'big', { follow: false, create: true, exclusive: false, directory: false });
    assert.equal(file.kind, 'file');
    if (file.kind !== 'file') return;
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let copies = 0;
    let buffer = file.data;
    for (let offset = 0; offset < 64 << 20; offset += chunk.length) {
      fs.write(file, offset, chunk);
      if (file.data !== buffer) copies++;
      buffer = file.data;
    }
    assert.equal(file.size, 64 << 20);
    assert.ok(copies <= 20, `${copies} copies of a file written in 1,024 chunks`);
  });

  it('keeps the spare room within the budget, and refuses past it with ENOSPC', () => {
    const limit = 10 << 20;
    const fs = new MemFs((treeBytes) => treeBytes <= limit);
    const file = fs.open(fs.root, 'f', { follow: false, create: true, exclusive: false, directory: false });
    if (file.kind !== 'file') return assert.fail('not a file');
    const chunk = new Uint8Array(1 << 20);
    for (let offset = 0; offset < limit; offset += chunk.length) fs.write(file, offset, chunk);
    assert.ok(file.data.length <= limit, `capacity ${file.data.length} past the budget ${limit}`);
    assert.throws(() => fs.write(file, limit, chunk), (error: unknown) => error instanceof FsError && error.code === 'ENOSPC');
  });

  it('near the limit takes the room left at once, not one copy of the whole file per small write', () => {
    const limit = 8 << 20;
    const fs = new MemFs((treeBytes) => treeBytes <= limit);
    const file = fs.open(fs.root, 'f', { follow: false, create: true, exclusive: false, directory: false });
    if (file.kind !== 'file') return assert.fail('not a file');
    const chunk = new Uint8Array(4096);
    let copies = 0;
    let buffer = file.data;
    let offset = 0;
    for (; offset < limit; offset += chunk.length) {
      fs.write(file, offset, chunk);
      if (file.data !== buffer) copies++;
      buffer = file.data;
    }
    assert.equal(file.size, limit);
    assert.ok(copies <= 30, `${copies} copies of a file written in ${limit / chunk.length} chunks up to the limit`);
    assert.throws(() => fs.write(file, offset, chunk), (error: unknown) => error instanceof FsError && error.code === 'ENOSPC');
  });
});
