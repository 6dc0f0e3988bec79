/** Unit tests of the extension's pure helpers (no `vscode`): formatting, agent log lines, arguments. */
import * as assert from 'node:assert/strict';

import { parseAgentLogLine } from '../../src/extension/agent/agentLogLine';
import { normaliseAgentUrl } from '../../src/extension/agent/agentTokens';
import { AgentUnreachableError, UnauthorizedError } from '../../src/client/errors';
import { parseRunArgument } from '../../src/extension/commands/runArgument';
import { describeAgentError } from '../../src/extension/errors';
import { firstLine, formatRelativeTime, formatSize, hostOf } from '../../src/extension/format';
import { RecentJobs } from '../../src/extension/run/recentJobs';
import { newestFirst } from '../../src/extension/catalog/versions';

describe('extension formatting', () => {
  it('shows sizes the way file managers do', () => {
    assert.equal(formatSize(512), '512 B');
    assert.equal(formatSize(4950), '4.8 KB');
    assert.equal(formatSize(18947), '19 KB');
    assert.equal(formatSize(3 * 1024 * 1024), '3.0 MB');
  });

  it('shows upload times relative to now', () => {
    const now = new Date('2025-01-10T12:00:00Z');
    assert.equal(formatRelativeTime('2025-01-10T11:59:58Z', now), 'just now');
    assert.equal(formatRelativeTime('2025-01-10T11:57:00Z', now), '3 minutes ago');
    assert.equal(formatRelativeTime('2025-01-09T12:00:00Z', now), 'yesterday');
    assert.equal(formatRelativeTime('not a date', now), 'not a date');
  });

  it('quotes the first non-empty line of stderr, shortened', () => {
    assert.equal(firstLine('\n  fail: refusing 5 bytes\nmore'), 'fail: refusing 5 bytes');
    assert.equal(firstLine('x'.repeat(200), 10), `${'x'.repeat(9)}…`);
  });
});

describe('agent log lines', () => {
  it('maps JSON lines to the level and message the agent gave', () => {
    const line = parseAgentLogLine('{"time":"2025-01-10T12:00:00Z","level":"warn","msg":"job timed out","job":"a.b"}');
    assert.deepEqual(line, { level: 'warn', message: 'job timed out {"job":"a.b"}' });
  });

  it('keeps lines that are not JSON, as warnings', () => {
    assert.deepEqual(parseAgentLogLine('(node:12) ExperimentalWarning: x'), {
      level: 'warn',
      message: '(node:12) ExperimentalWarning: x',
    });
  });

  it('treats unknown levels as info', () => {
    assert.equal(parseAgentLogLine('{"level":30,"message":"hi"}').level, 'info');
  });
});

describe('run command argument', () => {
  it('accepts the keybindings.json shape', () => {
    assert.deepEqual(parseRunArgument({ job: 'sh.serval.loudify', version: '1.0.0' }), {
      job: 'sh.serval.loudify',
      version: '1.0.0',
    });
    assert.equal(parseRunArgument(undefined), undefined);
  });

  it('refuses a wrong shape with the shape it expects', () => {
    assert.throws(() => parseRunArgument({ job: 42 }), /must be \{ "job": "<namespace\.name>"/);
    assert.throws(() => parseRunArgument('sh.serval.loudify'), /must be \{ "job"/);
  });

  it('treats a Uri from an editor menu as no argument', () => {
    assert.equal(parseRunArgument({ scheme: 'file', path: '/x' }), undefined);
  });
});

describe('recent jobs and versions order', () => {
  function memento(): ConstructorParameters<typeof RecentJobs>[0] {
    const values = new Map<string, unknown>();
    return {
      keys: () => [...values.keys()],
      get: <T>(key: string, fallback?: T) => (values.has(key) ? values.get(key) : fallback) as T,
      update: async (key: string, value: unknown) => void values.set(key, value),
    };
  }

  it('puts the last used job first', async () => {
    const recent = new RecentJobs(memento());
    await recent.remember('a.one');
    await recent.remember('a.two');
    assert.deepEqual(recent.order(['a.one', 'a.three', 'a.two']), ['a.two', 'a.one', 'a.three']);
  });

  it('sorts versions newest first', () => {
    const info = (version: string, stored_at: string) => ({ version, stored_at, integrity: 'sha256-x', size: 1 });
    const sorted = newestFirst([info('1', '2025-01-01T00:00:00Z'), info('2', '2025-02-01T00:00:00Z')]);
    assert.deepEqual(sorted.map((e) => e.version), ['2', '1']);
  });

  it('keys tokens by origin', () => {
    assert.equal(normaliseAgentUrl('http://box:8100/'), 'http://box:8100');
  });
});

describe('agent errors in the editor\'s terms', () => {
  const refused = new UnauthorizedError('missing or wrong token');

  it('says a remote agent needs a token when none is set, and that it refused the one that is', () => {
    const url = 'http://box:8100';
    assert.equal(describeAgentError(refused, url, { tokenSet: false }), `${url} needs a token: set it with "Serval: Set Agent Token…".`);
    assert.equal(
      describeAgentError(refused, url, { tokenSet: true }),
      `${url} refused the token it was given: set the right one with "Serval: Set Agent Token…".`,
    );
  });

  it('opens the sentence with a capital for the local agent, and points at its restart', () => {
    assert.match(describeAgentError(refused, 'the local agent'), /^The local agent refused the request/);
    const unreachable = new AgentUnreachableError('http://127.0.0.1:1');
    assert.equal(
      describeAgentError(unreachable, 'the local agent'),
      'No agent answers at http://127.0.0.1:1. Restart the local agent ("Serval: Restart Local Agent"), then retry.',
    );
  });

  it('names an agent by host and port', () => {
    assert.equal(hostOf('http://build-box:8100/'), 'build-box:8100');
    assert.equal(hostOf('not a url'), 'not a url');
  });
});
