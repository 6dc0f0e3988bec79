/**
 * Which documents get manifest features, and the workspace facts the pure editing code needs
 * (the `.wasm` files near a manifest). Cheap checks first: most TOML files are not manifests.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { TextRange } from '../../manifest/types';

export const MANIFEST_FILE_NAME = 'manifest.toml';

/** Every TOML document; providers narrow it down with `isManifestDocument`. */
export const TOML_SELECTOR: vscode.DocumentSelector = [
  { language: 'toml', scheme: 'file' },
  { language: 'toml', scheme: 'untitled' },
];

/** `#:schema <ref>` on the first line, as Even Better TOML reads it. */
const SCHEMA_DIRECTIVE = /^#:schema\s+(\S+)/;
/** Our schema's file name, whether the reference is the published URL or a local copy. */
const OUR_SCHEMA = /(^|[/\\])manifest\.schema\.json$/;

/** Where the user edits manifests. Copies elsewhere (git diffs, stored manifests) would repeat their problems. */
const EDITED_SCHEMES = new Set(['file', 'untitled']);

/** A `manifest.toml`, or a TOML file whose first line points `#:schema` at our schema, on disk or untitled. */
export function isManifestDocument(document: vscode.TextDocument): boolean {
  if (document.languageId !== 'toml' || !EDITED_SCHEMES.has(document.uri.scheme)) {
    return false;
  }
  if (path.basename(document.uri.path) === MANIFEST_FILE_NAME) {
    return true;
  }
  const reference = SCHEMA_DIRECTIVE.exec(document.lineAt(0).text)?.[1];
  return reference !== undefined && OUR_SCHEMA.test(reference);
}

/** The editor range of a core `TextRange`, whose length may run over line breaks. */
export function toRange(document: vscode.TextDocument, range: TextRange): vscode.Range {
  const start = document.validatePosition(new vscode.Position(range.line, range.column));
  const end = document.positionAt(document.offsetAt(start) + range.length);
  return new vscode.Range(start, end);
}

/** Name of the folder that holds the document: the natural job name. */
export function folderName(document: vscode.TextDocument): string {
  return path.basename(path.dirname(document.uri.path));
}

const MAX_WASM_FILES = 200;

/**
 * `.wasm` files of the workspace, relative to the manifest's folder with `/` separators, as a
 * manifest's `binary` is written. Dependencies' folders are skipped: nobody ships those.
 */
export async function listWasmFiles(document: vscode.TextDocument, token?: vscode.CancellationToken): Promise<string[]> {
  if (document.uri.scheme !== 'file') {
    return [];
  }
  const files = await vscode.workspace.findFiles('**/*.wasm', '{**/node_modules/**,**/.git/**}', MAX_WASM_FILES, token);
  const folder = path.dirname(document.uri.fsPath);
  return files.map((file) => path.relative(folder, file.fsPath).split(path.sep).join('/'));
}
