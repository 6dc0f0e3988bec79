/**
 * What each manifest key means: its TOML type, whether it is required, and the text an editor shows
 * for it. One table feeds the rules, the JSON Schema test, hovers and completion, so they never disagree.
 */
import { MANIFEST_KEYS, ManifestKey } from './types';

/** `table`: a TOML table of string values, e.g. `[env]`. */
export type KeyType = 'string' | 'string[]' | 'table';

/** A known shape of a list value, e.g. a permission such as `proc:read:*`. */
export interface ValuePattern {
  /** How the pattern reads in docs and completion labels, e.g. `extension:NAME`. */
  label: string;
  /** What a value of this shape grants or means. */
  summary: string;
  /** Text to insert; `NAME`-like placeholders appear as snippet tab stops `${1:NAME}`. */
  snippet: string;
}

export interface KeyInfo {
  key: ManifestKey;
  type: KeyType;
  required: boolean;
  /** One line, plain text (completion detail, schema title). */
  summary: string;
  /** A markdown paragraph with an example (hover, schema markdownDescription). */
  documentation: string;
  /** A full TOML line that shows a typical value, e.g. `name = "loudify"`. */
  example: string;
  /** Known value shapes of list items; only `required_permissions` has them. */
  valuePatterns?: readonly ValuePattern[];
}

function doc(text: string, example: string): string {
  return `${text}\n\n\`\`\`toml\n${example}\n\`\`\``;
}

const PERMISSION_PATTERNS: readonly ValuePattern[] = [
  {
    label: 'proc:read:*',
    summary: 'Read information about any process on the host.',
    snippet: 'proc:read:*',
  },
  {
    label: 'extension:NAME',
    summary: 'Use the host extension called NAME, which `required_extensions` also lists.',
    snippet: 'extension:${1:NAME}',
  },
  {
    label: 'extension:*',
    summary: 'Use every host extension the agent provides.',
    snippet: 'extension:*',
  },
];

interface KeyText {
  type: KeyType;
  required: boolean;
  summary: string;
  text: string;
  example: string;
  valuePatterns?: readonly ValuePattern[];
}

const KEY_TEXT: Record<ManifestKey, KeyText> = {
  name: {
    type: 'string',
    required: true,
    summary: 'Name of the job, unique within its namespace.',
    text:
      'Name of the job: 1-64 characters of `A-Z a-z 0-9 _ -`. The fully-qualified name is ' +
      '`namespace.name` with the name in lower case and every `-` as `_`: name `Loud-ify` in ' +
      'namespace `sh.serval` is `sh.serval.loud_ify`.',
    example: 'name = "loudify"',
  },
  namespace: {
    type: 'string',
    required: true,
    summary: 'Reverse-DNS owner of the job, e.g. sh.serval.',
    text:
      'Owner of the job in reverse-DNS form: 1-128 characters, dot-separated segments of ' +
      '`A-Z a-z 0-9 _ -`, no empty segment. It prefixes the fully-qualified name.',
    example: 'namespace = "sh.serval"',
  },
  version: {
    type: 'string',
    required: true,
    summary: 'Version of this build of the job (semver recommended).',
    text:
      'Version of this build: 1-64 characters of `A-Z a-z 0-9 . _ + -`, not `.` or `..`. Semantic versioning is ' +
      'recommended, not required. Running a job without a version runs the version of the ' +
      'manifest stored last.',
    example: 'version = "1.0.0"',
  },
  binary: {
    type: 'string',
    required: true,
    summary: 'Path of the .wasm file, relative to this manifest’s folder.',
    text:
      'Path of the WebAssembly module, relative to the folder of this manifest. It must be a ' +
      'WASI preview1 command: it exports `_start` and its memory, and imports only from ' +
      '`wasi_snapshot_preview1` and the extensions listed in `required_extensions`.',
    example: 'binary = "target/wasm32-wasip1/release/loudify.wasm"',
  },
  description: {
    type: 'string',
    required: true,
    summary: 'What the job does, for people.',
    text: 'What the job does, in a sentence people understand. It shows in job lists and hovers.',
    example: 'description = "Turns its input into upper case."',
  },
  required_extensions: {
    type: 'string[]',
    required: false,
    summary: 'Host extensions the job needs (default: none).',
    text:
      'Host extensions the job needs, by name. A module that imports from a module other than ' +
      '`wasi_snapshot_preview1` must list that module here. Defaults to `[]`.',
    example: 'required_extensions = ["birdfeeder"]',
  },
  required_permissions: {
    type: 'string[]',
    required: false,
    summary: 'Permissions the job needs, e.g. proc:read:* (default: none).',
    text:
      'Permissions the job needs from the agent. Known forms: ' +
      PERMISSION_PATTERNS.map((p) => `\`${p.label}\`: ${p.summary}`).join(' ') +
      ' Defaults to `[]`.',
    example: 'required_permissions = ["proc:read:*"]',
    valuePatterns: PERMISSION_PATTERNS,
  },
  args: {
    type: 'string[]',
    required: false,
    summary: 'Arguments the job gets after its name (default: none).',
    text:
      'Arguments the job sees after argv[0], which is always its fully-qualified name. A run that ' +
      'gives its own arguments (`?arg=`, `serval run --arg`, Run Job with Arguments…) replaces these.',
    example: 'args = ["--verbose", "input.txt"]',
  },
  env: {
    type: 'table',
    required: false,
    summary: 'Environment variables the job gets (default: none).',
    text:
      'Environment variables of the job, as a table of strings. The job sees exactly these (never ' +
      "the agent's own environment); a run's `env` entries override them one by one.",
    example: '[env]\nLOG_LEVEL = "debug"',
  },
  files: {
    type: 'string',
    required: false,
    summary: 'Folder uploaded with each version; the job sees it as / (default: none).',
    text:
      'A folder, relative to this manifest, that Publish and `serval store` upload with the version. ' +
      'At run time the job sees that tree as its preopened directory `/` (fd 3), writable in ' +
      'memory for that run only; its bytes count against the job\'s memory limit.',
    example: 'files = "data"',
  },
};

function buildKeyInfo(key: ManifestKey): KeyInfo {
  const { text, example, ...rest } = KEY_TEXT[key];
  return { key, ...rest, example, documentation: doc(text, example) };
}

export const KEY_INFO: Record<ManifestKey, KeyInfo> = Object.fromEntries(
  MANIFEST_KEYS.map((key) => [key, buildKeyInfo(key)]),
) as Record<ManifestKey, KeyInfo>;

export const REQUIRED_KEYS: readonly ManifestKey[] = MANIFEST_KEYS.filter((key) => KEY_INFO[key].required);

/** How a key's type reads in completion details, hovers and messages. */
export function typeName(type: KeyType): string {
  return type === 'string' ? 'string' : type === 'string[]' ? 'array of strings' : 'table of strings';
}

/** Type guard for strings read from a document. */
export function isManifestKey(key: string): key is ManifestKey {
  return Object.prototype.hasOwnProperty.call(KEY_INFO, key);
}
