/** The keys of a job manifest, in the order a new manifest lists them. */
export const MANIFEST_KEYS = [
  'name',
  'namespace',
  'version',
  'binary',
  'description',
  'required_extensions',
  'required_permissions',
  'args',
  'env',
  'files',
] as const;

export type ManifestKey = (typeof MANIFEST_KEYS)[number];

/** A manifest that passed validation. */
export interface Manifest {
  name: string;
  namespace: string;
  version: string;
  binary: string;
  description: string;
  required_extensions: string[];
  required_permissions: string[];
  /** Default arguments after argv[0]; a run's own arguments replace them. */
  args: string[];
  /** Default environment; a run's `env` entries override these one by one. */
  env: Record<string, string>;
  /** Folder (relative to the manifest) uploaded with each version and preopened as `/` at run time. */
  files?: string;
  /** Keys that are not part of the manifest format: kept, reported as warnings. */
  unknown: Record<string, unknown>;
}

/** Zero-based position in the text, as editors count (column in UTF-16 code units). */
export interface TextRange {
  line: number;
  column: number;
  length: number;
}

export type Severity = 'error' | 'warning' | 'info';

/**
 * Stable problem codes. Editors tie quick fixes to them; tests assert them.
 * Never rename one: users may filter on them.
 */
export type ProblemCode =
  | 'toml-syntax'
  | 'missing-key'
  | 'wrong-type'
  | 'invalid-name'
  | 'invalid-namespace'
  | 'invalid-version'
  | 'empty-description'
  | 'invalid-binary'
  | 'invalid-list-item'
  | 'unknown-key'
  | 'binary-not-found'
  | 'binary-not-wasm'
  | 'binary-invalid-module'
  | 'binary-not-wasi-command'
  | 'undeclared-extension'
  | 'invalid-env'
  | 'invalid-files'
  | 'files-not-found'
  | 'files-not-folder'
  | 'files-too-big'
  | 'extension-not-available';

export interface Problem {
  code: ProblemCode;
  severity: Severity;
  /** One sentence a person understands: what is wrong and what to do. */
  message: string;
  range: TextRange;
  /** The key the problem is about, when there is one. */
  key?: string;
}

export interface ManifestCheck {
  /** Present when the text is valid TOML and has no error (warnings allowed). */
  manifest?: Manifest;
  problems: Problem[];
}
