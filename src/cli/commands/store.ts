import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { AgentClient } from '../../client/client';
import { BadRequestError } from '../../client/errors';
import { sriOf } from '../../client/integrity';
import { storedIntegrity } from '../../client/storedVersion';
import { FilesFolderError, packFilesFolder } from '../../files/folder';
import { checkManifest, fullyQualifiedName } from '../../manifest';
import type { Manifest, Problem } from '../../manifest/types';
import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, parseCommandArgs, requiredPositional } from '../args';
import type { Command } from '../command';
import { CliError } from '../errors';
import { EXIT } from '../exitCodes';
import { writeFully, type CliIo } from '../io';

export const storeCommand: Command = {
  name: 'store',
  summary: 'check a manifest, then upload it and its .wasm',
  help: `Usage: serval store MANIFEST [options]

Checks MANIFEST (a manifest.toml) and prints its problems as file:line:col: message. When it has no
error, uploads it, then the .wasm its \`binary\` names (relative to the manifest's folder), then, when
it names a \`files\` folder, that folder as a tar archive (the job sees it as /). Prints the job's
fully-qualified name, version and integrity.

A version already stored with other bytes is not replaced: bump \`version\` in the manifest, or
pass --force. Storing the same bytes again is fine.

Options:
  --force       replace a version that is stored with other bytes
${clientOptionsHelp()}`,

  async run(args, { io, signal }) {
    const { values, positionals } = parseCommandArgs('store', args, STORE_OPTIONS, 1);
    const manifestFile = requiredPositional(positionals[0], 'the MANIFEST file, e.g. samples/loudify/manifest.toml', 'store');
    const manifestPath = path.resolve(io.cwd, manifestFile);
    const text = await readFile(manifestPath, 'utf8');
    // Checked without a BOM, so that file:line:col counts columns as editors do; sent as it is.
    const manifest = await checkedManifest(manifestFile, text.replace(/^\uFEFF/, ''), io);
    const binaryPath = path.resolve(path.dirname(manifestPath), manifest.binary);
    const bytes = await readBinary(manifestFile, manifest.binary, binaryPath);
    const files = manifest.files === undefined ? undefined : await packedFiles(manifestFile, manifest.files, path.dirname(manifestPath));

    const client = clientFrom(values, io);
    const name = fullyQualifiedName(manifest.namespace, manifest.name);
    if (!values.force) await refuseReplacing(client, manifestFile, name, manifest.version, bytes, signal);
    await refusalIsInvalid(`${manifestFile}: the agent refused the manifest`, client.storeManifest(text, { signal }));
    // Files before the executable: the version becomes runnable (and the default) only once both are there.
    const filesIntegrity = files
      ? await refusalIsInvalid(`${manifestFile}: the agent refused the files of "${manifest.files}"`, client.putFiles(name, manifest.version, files, { signal }))
      : undefined;
    const integrity = await refusalIsInvalid(
      `${binaryPath}: the agent refused the executable`,
      client.putExecutable(name, manifest.version, bytes, { signal }),
    );
    const filesNote = filesIntegrity ? ` files ${filesIntegrity}` : '';
    await writeFully(io.stdout, `stored ${name} ${manifest.version} ${integrity}${filesNote}\n`);
    return EXIT.ok;
  },
};

const STORE_OPTIONS = { ...CLIENT_OPTIONS, force: { type: 'boolean' } } as const;

/** A stored version with other bytes stays as it is unless --force says otherwise. */
async function refuseReplacing(client: AgentClient, file: string, name: string, version: string, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  const stored = await storedIntegrity(client, name, version, signal);
  if (stored === undefined || stored === sriOf(bytes)) return;
  throw new CliError(
    `${file}: ${name} ${version} is already stored with other bytes (${stored}); bump \`version\` in the manifest, or pass --force to replace it`,
    EXIT.failure,
  );
}

/** Prints every problem (errors and warnings); returns the manifest only when there is no error. */
async function checkedManifest(file: string, text: string, io: CliIo): Promise<Manifest> {
  const check = checkManifest(text);
  const report = check.problems.map((problem) => `${problemLine(file, problem)}\n`).join('');
  if (report) await writeFully(io.stderr, report);
  if (!check.manifest) {
    const errors = check.problems.filter((problem) => problem.severity === 'error').length;
    throw new CliError(`${file}: not stored: fix the ${errors === 1 ? 'error' : `${errors} errors`} above`, EXIT.invalidManifest);
  }
  return check.manifest;
}

/** `file:line:col: message`, one-based as editors and problem matchers expect. */
function problemLine(file: string, problem: Problem): string {
  const severity = problem.severity === 'error' ? '' : `${problem.severity}: `;
  return `${file}:${problem.range.line + 1}:${problem.range.column + 1}: ${severity}${problem.message}`;
}

async function readBinary(manifestFile: string, binary: string, binaryPath: string): Promise<Uint8Array> {
  try {
    return await readFile(binaryPath);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new CliError(
      `${manifestFile}: its binary "${binary}" ${reason} (${binaryPath}): build it first, or fix \`binary\``,
      EXIT.invalidManifest,
    );
  }
}

/** The manifest's files folder as a tar; checked before anything is uploaded. */
async function packedFiles(manifestFile: string, files: string, manifestDir: string): Promise<Uint8Array> {
  const folder = path.resolve(manifestDir, files);
  try {
    return await packFilesFolder(folder);
  } catch (error) {
    if (error instanceof FilesFolderError) {
      throw new CliError(`${manifestFile}: its files folder "${files}" ${error.message} (${folder})`, EXIT.invalidManifest);
    }
    throw error;
  }
}

/** A 400 while storing means the agent found the manifest or module invalid: exit code 5. */
async function refusalIsInvalid<T>(context: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof BadRequestError) throw new CliError(`${context}: ${error.message}`, EXIT.invalidManifest);
    throw error;
  }
}
