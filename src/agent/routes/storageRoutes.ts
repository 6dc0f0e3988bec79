/** The /v1/storage/manifests routes: store, list, read and delete manifests and executables. */
import { open, readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

import { HEADERS, PATHS, type ExecutableInfo } from '../../api/contract';
import { WASM_HEADER_BYTES } from '../../wasm/layer';
import { jobKindOf } from '../runner/jobKind';
import { readBody, refuseDeclaredOverLimit, streamBody } from '../http/body';
import { HttpError, OCTETS, TOML, sendBytes, sendEmpty, sendJson, sendText } from '../http/respond';
import type { RequestContext } from '../http/router';
import type { StagedUpload } from '../storage';
import type { AgentContext } from './context';

export async function listManifests(agent: AgentContext, { res }: RequestContext): Promise<void> {
  sendJson(res, 200, await agent.storage.names());
}

export async function storeManifest(agent: AgentContext, { req, res }: RequestContext): Promise<void> {
  const bytes = await readBody(req, agent.maxManifestBytes, 'manifest');
  const manifest = await agent.checks.manifest(bytes);
  if (!manifest.ok) throw new HttpError(400, manifest.message);
  const { name, version } = manifest;
  // The bytes as sent, not a re-serialisation: GET gives back exactly what was stored.
  const integrity = await agent.storage.putManifest(name, version, bytes);
  agent.log('info', 'manifest stored', { name, version, integrity });
  sendText(res, 201, integrity, { location: PATHS.manifest(name) });
}

export async function getManifest(agent: AgentContext, { res, head, name, version }: RequestContext): Promise<void> {
  await requireManifest(agent, name);
  if (head) {
    // HEAD answers from the catalog what GET would send; the bytes are not read just to be thrown away.
    const stored = await agent.storage.manifestInfo(name, version);
    if (!stored) throw noManifestVersion(name, version);
    return sendEmpty(res, 200, { 'content-type': TOML, 'content-length': stored.size });
  }
  const stored = await agent.storage.readManifest(name, version);
  if (!stored) throw noManifestVersion(name, version);
  sendBytes(res, 200, TOML, stored.text);
}

export async function deleteManifest(agent: AgentContext, { res, name, version }: RequestContext): Promise<void> {
  if (version !== undefined) {
    // This route deletes every version: a client asking for one version must not lose them all.
    throw new HttpError(
      400,
      `DELETE ${name} removes the manifest with every version and executable, not version '${version}'; ` +
        `to delete one executable use DELETE /v1/storage/manifests/${name}/executable/<version>, or leave ?version= out`,
    );
  }
  if (!(await agent.storage.deleteJob(name))) throw noManifest(name);
  agent.log('info', 'manifest deleted with all its executables', { name });
  sendEmpty(res, 204);
}

export async function listExecutables(agent: AgentContext, { res, name }: RequestContext): Promise<void> {
  const executables = await agent.storage.versions(name);
  if (!executables) throw noManifest(name);
  sendJson(res, 200, executables);
}

export async function putExecutable(agent: AgentContext, { req, res, name, version }: RequestContext): Promise<void> {
  const target = requiredVersion(version);
  // Refused before the upload is read: no manifest, no point in receiving megabytes.
  await requireManifest(agent, name);
  const expectedIntegrity = announcedIntegrity(req.headers[HEADERS.integrity]);
  refuseDeclaredOverLimit(req, agent.maxBodyBytes, 'executable');
  // Streamed into the store as it arrives, hashed once on the way (no copy of it held here);
  // checked from the store's staged file once complete, while the store makes it durable. The
  // 201 waits for both; a refusal or a client gone mid-body leaves nothing stored or listed.
  const stored = await agent.storage.putExecutable(name, target, streamBody(req, agent.maxBodyBytes, 'executable'), {
    expectedIntegrity,
    beforeCommit: (upload) => checkExecutable(agent, upload),
  });
  if (!stored) throw noManifest(name);
  agent.log('info', 'executable stored', { name, version: target, integrity: stored.integrity, size: stored.size });
  sendText(res, 201, stored.integrity, { location: PATHS.executable(name, target) });
}

export async function getExecutable(agent: AgentContext, { res, head, name, version }: RequestContext): Promise<void> {
  const info = await requireExecutable(agent, name, requiredVersion(version));
  const headers = { 'content-type': OCTETS, 'content-length': info.size, [HEADERS.integrity]: info.integrity };
  if (head) return sendEmpty(res, 200, headers);
  // Checked in full before the first byte goes out: damaged bytes get a 500, never a 200.
  const bytes = await agent.storage.streamExecutable(name, info);
  res.writeHead(200, headers);
  await pipeline(bytes, res).catch((error: unknown) => {
    // The bytes changed on disk after the check: cut the response so it cannot pass as complete.
    agent.log('error', 'executable stream failed', { name, version: info.version, error: String(error) });
    res.destroy();
  });
}

export async function deleteExecutable(agent: AgentContext, { res, name, version }: RequestContext): Promise<void> {
  const target = requiredVersion(version);
  await requireExecutable(agent, name, target);
  if (!(await agent.storage.deleteExecutable(name, target))) throw noExecutable(name, target);
  // A version's files go with it: without its executable it cannot run.
  await agent.storage.deleteFiles(name, target);
  agent.log('info', 'executable deleted', { name, version: target });
  sendEmpty(res, 204);
}

// ---- shared by the run route ----

export async function requireManifest(agent: AgentContext, name: string): Promise<void> {
  if (!(await agent.storage.has(name))) throw noManifest(name);
}

export async function requireExecutable(agent: AgentContext, name: string, version: string): Promise<ExecutableInfo> {
  await requireManifest(agent, name);
  const info = await agent.storage.executable(name, version);
  if (!info) throw noExecutable(name, version);
  return info;
}

function noManifest(name: string): HttpError {
  return new HttpError(404, `no manifest named '${name}' is stored; publish it first (serval store, or Publish Job in VS Code)`);
}

function noExecutable(name: string, version: string): HttpError {
  return new HttpError(
    404,
    `'${name}' has no executable for version '${version}'; publish that version (serval store, or Publish Job in VS Code)`,
  );
}

function noManifestVersion(name: string, version: string | undefined): HttpError {
  return new HttpError(
    404,
    `'${name}' has no manifest of version '${version ?? ''}'; publish that version (serval store, or Publish Job in VS Code), or ask for the version stored last`,
  );
}

function requiredVersion(version: string | undefined): string {
  // The router only reaches these handlers with a :version segment; this keeps the types honest.
  if (version === undefined) throw new HttpError(400, 'the path needs a version; use …/executable/<version>');
  return version;
}

// ---- checks of uploaded bodies ----

/** The `Serval-Integrity` of an upload, checked for form; the store checks the bytes against it. */
function announcedIntegrity(announced: string | string[] | undefined): string | undefined {
  if (announced === undefined) return undefined;
  const value = Array.isArray(announced) ? announced.join(',') : announced.trim();
  if (!/^sha256-[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new HttpError(400, `Serval-Integrity '${value.slice(0, 100)}' is not a sha256 SRI integrity; send 'sha256-<base64 digest>' or leave the header out`);
  }
  return value;
}

/**
 * Checked by its job kind, from the staged file: a module is validated by the check worker, which
 * reads the file itself (a 60 MB module neither crosses threads nor holds up the event loop); a
 * component is read here, checked against what the agent hosts, then transpiled.
 */
async function checkExecutable(agent: AgentContext, upload: StagedUpload): Promise<void> {
  const header = await readHeader(upload.file);
  let problems: string[];
  if (jobKindOf(header).name === 'module') {
    const verdict = await agent.checks.wasmFile(upload.file);
    problems = verdict.ok ? [] : [verdict.message];
  } else {
    const bytes = await readFile(upload.file);
    problems = await jobKindOf(bytes).uploadProblems(bytes, { key: upload.integrity, components: agent.runner.components });
  }
  if (problems.length > 0) throw new HttpError(400, problems.join(' '));
}

/** The first bytes of a file: enough to tell a module from a component (src/wasm/layer.ts). */
async function readHeader(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(WASM_HEADER_BYTES), 0, WASM_HEADER_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
