/** /v1/storage/manifests/:name/files/:version: the files archive of a version (store, read). */
import { FILES_CONTENT_TYPE, PATHS } from '../../api/contract';
import { isGzip, readTar, TarError, type TarLimits } from '../../files/tar';
import { readBody } from '../http/body';
import { HttpError, sendBytes, sendEmpty, sendText } from '../http/respond';
import type { RequestContext } from '../http/router';
import type { AgentContext } from './context';
import { requireManifest } from './storageRoutes';

const GZIP_CONTENT_TYPE = 'application/gzip';
/** Entries of one archive: files, folders and links together. */
const MAX_ENTRIES = 10_000;

/** A job's files must fit its memory limit unpacked: they live in memory while it runs. */
export function filesLimits(agent: AgentContext): TarLimits {
  return { maxEntries: MAX_ENTRIES, maxBytes: agent.jobMemoryBytes };
}

export async function putFiles(agent: AgentContext, { req, res, name, version }: RequestContext): Promise<void> {
  const target = version ?? '';
  await requireManifest(agent, name);
  // A version exists once its manifest or its executable is stored (a test run's scratch version has only an executable).
  const versionExists = (await agent.storage.manifestInfo(name, target)) ?? (await agent.storage.executable(name, target));
  if (!versionExists) {
    throw new HttpError(404, `'${name}' has no manifest or executable of version '${target}'; store that version first, then its files`);
  }
  checkContentType(req.headers['content-type']);
  // Held in memory (within the body limit): the whole tree is checked before anything is stored.
  const archive = await readBody(req, agent.maxBodyBytes, 'files archive');
  let entries;
  try {
    entries = readTar(archive, filesLimits(agent));
  } catch (error) {
    if (error instanceof TarError) throw new HttpError(400, `the files archive was refused: ${error.message}`);
    throw error;
  }
  const stored = await agent.storage.putFiles(name, target, archive);
  if (!stored) throw new HttpError(404, `no manifest named '${name}' is stored; publish it first (serval store, or Publish Job in VS Code)`);
  agent.log('info', 'files stored', { name, version: target, integrity: stored.integrity, entries: entries.length });
  sendText(res, 201, stored.integrity, { location: PATHS.files(name, target) });
}

export async function getFiles(agent: AgentContext, { res, head, name, version }: RequestContext): Promise<void> {
  await requireManifest(agent, name);
  const target = version ?? '';
  const info = await agent.storage.filesInfo(name, target);
  if (!info) throw new HttpError(404, `'${name}' version '${target}' has no files; publish it with a files folder in its manifest`);
  if (head) return sendEmpty(res, 200, { 'content-type': FILES_CONTENT_TYPE, 'content-length': info.size });
  const archive = await agent.storage.readFiles(name, target);
  if (!archive) throw new HttpError(404, `'${name}' version '${target}' has no files`);
  sendBytes(res, 200, isGzip(archive) ? GZIP_CONTENT_TYPE : FILES_CONTENT_TYPE, archive);
}

/** A tar, or a tar that says it is gzip; anything else is surely not a files archive. */
/**
 * Besides the two archive types: none, octet-stream, x-gzip, and what `curl --data-binary` sends
 * unless told otherwise (form-urlencoded). The bytes decide anyway: the archive is read in full.
 */
const ACCEPTED_TYPES = new Set([FILES_CONTENT_TYPE, GZIP_CONTENT_TYPE, 'application/x-gzip', 'application/octet-stream', 'application/x-www-form-urlencoded']);

function checkContentType(header: string | undefined): void {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  if (type === undefined || type === '' || ACCEPTED_TYPES.has(type)) return;
  throw new HttpError(415, `a files archive is sent as Content-Type: ${FILES_CONTENT_TYPE} (optionally gzip-compressed), not ${type}`);
}
