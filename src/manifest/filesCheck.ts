/**
 * Checks the folder a manifest's `files` names: that it exists, is a folder, and fits (entries and
 * bytes) what an agent accepts. Node fs only (no vscode), like binary.ts.
 */
import * as path from 'path';

import { filesFolderSize, FilesFolderError } from '../files/folder';
import { locateKeys } from './locate';
import type { ManifestCheck, Problem, ProblemCode } from './types';

const CODES: Record<FilesFolderError['reason'], ProblemCode> = {
  missing: 'files-not-found',
  'not-folder': 'files-not-folder',
  'too-big': 'files-too-big',
  unreadable: 'files-not-found',
};

/** Problems of the `files` folder, at the range of the `files` value; none without a valid `files`. */
export async function checkFiles(manifestPath: string, text: string, check: ManifestCheck): Promise<Problem[]> {
  const files = check.manifest?.files;
  if (files === undefined || files.trim() === '') return [];
  const range = locateKeys(text).get('files')?.valueRange;
  if (!range) return [];
  const folder = path.resolve(path.dirname(manifestPath), files);
  try {
    await filesFolderSize(folder);
    return [];
  } catch (error) {
    if (!(error instanceof FilesFolderError)) throw error;
    return [{ code: CODES[error.reason], severity: 'error', key: 'files', range, message: `files "${files}" ${error.message} (${folder}).` }];
  }
}
