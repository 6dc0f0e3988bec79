import * as assert from 'node:assert/strict';
import { normaliseManifestNames } from '../../src/client/manifestNames';
import { errorForStatus, ForbiddenError, UnauthorizedError, NotFoundError, AgentHttpError } from '../../src/client/errors';

describe('client: manifest list normalisation', () => {
  it('keeps a list of fully-qualified names, sorted and without duplicates', () => {
    assert.deepEqual(normaliseManifestNames(['sh.serval.b', 'sh.serval.a', 'sh.serval.b']), ['sh.serval.a', 'sh.serval.b']);
  });

  it("turns the original agent's storage keys into fully-qualified names", () => {
    const keys = [
      'sh.serval.loudify.manifest.toml',
      'sh.serval.loudify.1.wasm',
      'sh.serval.loudify.1.0.0.wasm',
      'com.example.tools.wordfreq.manifest.toml',
      'com.example.tools.wordfreq.2.1.0-beta.wasm',
    ];
    assert.deepEqual(normaliseManifestNames(keys), ['com.example.tools.wordfreq', 'sh.serval.loudify']);
  });

  it('splits an executable key at the longest known name', () => {
    const keys = ['a.b.manifest.toml', 'a.b.c.manifest.toml', 'a.b.c.1.wasm'];
    assert.deepEqual(normaliseManifestNames(keys), ['a.b', 'a.b.c']);
  });

  it('guesses the name of an executable whose manifest key is missing from the version segment', () => {
    assert.deepEqual(normaliseManifestNames(['x.y.manifest.toml', 'sh.serval.orphan.3.1.wasm']), ['sh.serval.orphan', 'x.y']);
  });
});

describe('client: error messages', () => {
  it("keeps the agent's one-line message and types the error by status", () => {
    const error = errorForStatus(404, 'no manifest named sh.serval.nope: store it first\n');
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.status, 404);
    assert.equal(error.message, 'no manifest named sh.serval.nope: store it first');
  });

  it('never shows an HTML error page: a generic sentence replaces it', () => {
    const error = errorForStatus(502, '<html><body>Bad Gateway</body></html>');
    assert.ok(error instanceof AgentHttpError);
    assert.equal(error.message, 'the agent answered with HTTP status 502');
  });

  it('tells how to give a token on 401, even when the agent does not', () => {
    const error = errorForStatus(401, 'unauthorized');
    assert.ok(error instanceof UnauthorizedError);
    assert.match(error.message, /SERVAL_AGENT_TOKEN/);
  });

  it('explains a 403 without a body by the Host check', () => {
    const error = errorForStatus(403, '');
    assert.ok(error instanceof ForbiddenError);
    assert.match(error.message, /--allow-host/);
  });
});
