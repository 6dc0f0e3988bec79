import * as assert from 'node:assert/strict';
import { runInProcess } from '../../src/agent/runner/inProcess';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import type { JobOutcome } from '../../src/agent/runner/types';
import { MemorySink, WASI_FUNCTIONS, WasiHost } from '../../src/agent/runner/wasi';
import { WASI_MODULE } from '../../src/wasm/inspect';
import { buildWat } from '../helpers/wat';

async function runWat(name: string, stdin = ''): Promise<JobOutcome> {
  const prepared = await prepareJobModule(await buildWat(name), 16 * 1024 * 1024);
  assert.ok(prepared.ok, prepared.ok ? '' : prepared.message);
  return runInProcess(prepared.module, new TextEncoder().encode(stdin));
}

function exited(outcome: JobOutcome): Extract<JobOutcome, { kind: 'exited' }> {
  assert.equal(outcome.kind, 'exited', outcome.kind === 'trapped' ? outcome.trap : outcome.kind);
  return outcome as Extract<JobOutcome, { kind: 'exited' }>;
}

describe('WASI host', () => {
  it('provides every function of wasi_snapshot_preview1', () => {
    const host = new WasiHost(new MemorySink(), new MemorySink());
    assert.equal(WASI_FUNCTIONS.size, 46);
    assert.deepEqual(Object.keys(host.imports[WASI_MODULE]).sort(), [...WASI_FUNCTIONS].sort());
  });

  it('answers what a job without files, sockets or arguments should get', async () => {
    const errnos = [...exited(await runWat('wasi-errnos')).stdout];
    const [SUCCESS, EBADF, EFAULT, EINVAL, ENOSYS, ENOTDIR, ENOTSOCK, ESPIPE] = [0, 8, 21, 28, 52, 54, 57, 70];
    assert.deepEqual(errnos, [
      EBADF, // fd_prestat_get(3): no preopened directory
      ESPIPE, // fd_seek(stdin)
      ESPIPE, // fd_tell(stdout)
      SUCCESS, // fd_fdstat_get(stdout)
      EBADF, // fd_fdstat_get(7)
      EBADF, // fd_read(stdout)
      EBADF, // fd_write(5)
      EFAULT, // fd_write with an iovec past the end of memory
      EBADF, // path_open(3)
      ENOTDIR, // path_open(stdin)
      ENOTSOCK, // sock_recv(stdin)
      EINVAL, // clock_time_get(unknown clock)
      SUCCESS, // clock_time_get(monotonic)
      SUCCESS, // args_sizes_get
      0, // no arguments
      SUCCESS, // environ_sizes_get
      SUCCESS, // random_get
      EFAULT, // random_get past the end of memory
      ENOSYS, // proc_raise
      SUCCESS, // sched_yield
      EINVAL, // poll_oneoff with no subscription
      SUCCESS, // fd_close(stdin)
      EBADF, // fd_read(stdin) once closed
      EBADF, // fd_close(stdin) again
    ]);
  });

  it('sleeps for a clock subscription and reports its event', async () => {
    assert.equal(new TextDecoder().decode(exited(await runWat('sleep')).stdout), 'slept 1 events\n');
  });

  it('reports stdin ready to read, with the bytes left, without waiting for a clock', async () => {
    const stdout = exited(await runWat('poll-stdin', 'twelve bytes')).stdout;
    assert.equal(stdout[0], 1, 'one event');
    assert.equal(new DataView(stdout.buffer, stdout.byteOffset).getBigUint64(1, true), 12n);
  });

  it('runs one job after another on the same host with fresh state', async () => {
    for (const input of ['first', 'second input', '']) {
      assert.equal(new TextDecoder().decode(exited(await runWat('uppercase', input)).stdout), input.toUpperCase());
    }
    exited(await runWat('wasi-errnos')); // closes its stdin...
    assert.equal(new TextDecoder().decode(exited(await runWat('uppercase', 'still open')).stdout), 'STILL OPEN');
  });
});

describe('MemorySink', () => {
  it('keeps writes up to its limit and says how much it took', () => {
    const sink = new MemorySink(10);
    assert.equal(sink.write(new TextEncoder().encode('hello ')), 6);
    assert.equal(sink.write(new TextEncoder().encode('world!')), 4);
    assert.equal(sink.write(new TextEncoder().encode('more')), 0);
    assert.equal(new TextDecoder().decode(sink.take()), 'hello worl');
    assert.equal(sink.take().length, 0);
  });
});
