/** The keys of a job manifest, in the order a new manifest lists them. */
export const MANIFEST_KEYS = [
  'name',
  'namespace',
  'version',
  'binary',
  'description',
  'required_extensions',
  'required_permissions',
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
  | 'undeclared-extension';

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
