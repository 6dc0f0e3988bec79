/**
 * The naming rules of the agent API ("Names" in agent-api.md). The agent quotes these messages in
 * HTTP 400 bodies and the editor shows them as diagnostics, so each one names the field, states the
 * rule, and says what in the value broke it.
 */

export const NAME_MAX_LENGTH = 64;
export const NAMESPACE_MAX_LENGTH = 128;
export const VERSION_MAX_LENGTH = 64;

/**
 * Patterns for the JSON Schema, written without look-arounds so that Rust's regex crate (Taplo) can
 * run them; lengths are separate minLength/maxLength constraints. A test keeps them in lock-step
 * with the check functions below.
 */
export const NAME_PATTERN = '^[A-Za-z0-9_-]+$';
export const NAMESPACE_PATTERN = '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$';
/** As VERSION_RULE, and not `.` or `..` (no look-around: 0-2 dots then another character, or 3 dots). */
export const VERSION_PATTERN = '^(\\.{0,2}[A-Za-z0-9_+-]|\\.{3})[A-Za-z0-9._+-]*$';

const NAME_RULE = `name must be 1-${NAME_MAX_LENGTH} characters of A-Z a-z 0-9 _ -`;
const NAMESPACE_RULE =
  `namespace must be 1-${NAMESPACE_MAX_LENGTH} characters, dot-separated segments of ` +
  'A-Z a-z 0-9 _ - with no empty segment';
const VERSION_RULE = `version must be 1-${VERSION_MAX_LENGTH} characters of A-Z a-z 0-9 . _ + -`;

const SHOWN_VALUE_MAX_LENGTH = 40;

function isWordChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x5f || // _
    code === 0x2d // -
  );
}

function isVersionChar(code: number): boolean {
  return isWordChar(code) || code === 0x2e /* . */ || code === 0x2b /* + */;
}

/** How a value appears inside a message: quoted, shortened, control characters made visible. */
function shown(value: string): string {
  const short =
    value.length > SHOWN_VALUE_MAX_LENGTH ? `${value.slice(0, SHOWN_VALUE_MAX_LENGTH)}…` : value;
  const visible = short.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${visible}'`;
}

/** Names one offending character the way a person would say it. */
function describeChar(char: string): string {
  switch (char) {
    case ' ':
      return 'a space';
    case '\t':
      return 'a tab';
    case '\n':
    case '\r':
      return 'a line break';
    case '.':
      return "a '.'";
    default: {
      const code = char.codePointAt(0) ?? 0;
      if (code < 0x20 || code === 0x7f) {
        return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      }
      return `'${char}'`;
    }
  }
}

/** The first character of `value` that `allowed` refuses, whole even if it is a surrogate pair. */
function firstBadChar(value: string, allowed: (code: number) => boolean): string | undefined {
  for (const char of value) {
    if (!allowed(char.charCodeAt(0)) || char.length > 1) {
      return char;
    }
  }
  return undefined;
}

function checkChars(
  rule: string,
  value: string,
  maxLength: number,
  allowed: (code: number) => boolean,
): string | undefined {
  if (value.length === 0) {
    return `${rule}; it is empty`;
  }
  const bad = firstBadChar(value, allowed);
  if (bad !== undefined) {
    return `${rule}; ${shown(value)} has ${describeChar(bad)}`;
  }
  if (value.length > maxLength) {
    return `${rule}; ${shown(value)} has ${value.length} characters`;
  }
  return undefined;
}

/** `undefined` when `name` is a valid job name, else why not. */
export function checkName(name: string): string | undefined {
  return checkChars(NAME_RULE, name, NAME_MAX_LENGTH, isWordChar);
}

/** `undefined` when `version` is a valid version, else why not. */
export function checkVersion(version: string): string | undefined {
  if (version === '.' || version === '..') {
    // In a URL these are path steps ("this folder", "the folder above"): clients resolve them away.
    return `version must not be '.' or '..', which URLs read as path steps; use e.g. '0.1.0'`;
  }
  return checkChars(VERSION_RULE, version, VERSION_MAX_LENGTH, isVersionChar);
}

/** `undefined` when `namespace` is a valid namespace, else why not. */
export function checkNamespace(namespace: string): string | undefined {
  const isNamespaceChar = (code: number): boolean => isWordChar(code) || code === 0x2e;
  const charProblem = checkChars(NAMESPACE_RULE, namespace, NAMESPACE_MAX_LENGTH, isNamespaceChar);
  if (charProblem !== undefined) {
    return charProblem;
  }
  if (namespace.split('.').includes('')) {
    return `${NAMESPACE_RULE}; ${shown(namespace)} has an empty segment`;
  }
  return undefined;
}

/** The name as it appears in a fully-qualified name: ASCII lower case, `-` as `_`. */
export function normalizeName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/-/g, '_');
}

/** `namespace.name'` as the agent stores it; e.g. (`sh.serval`, `Loud-ify`) → `sh.serval.loud_ify`. */
export function fullyQualifiedName(namespace: string, name: string): string {
  return `${namespace}.${normalizeName(name)}`;
}

/**
 * `undefined` when `fqName` is a fully-qualified name as `fullyQualifiedName` makes them: a valid
 * namespace, a '.', and a valid name already in lower case with `_` for `-`.
 */
export function checkFullyQualifiedName(fqName: string): string | undefined {
  const rule = 'fully-qualified name must be namespace.name, e.g. sh.serval.loud_ify';
  const lastDot = fqName.lastIndexOf('.');
  if (lastDot < 0) {
    return `${rule}; ${shown(fqName)} has no '.'`;
  }
  const namespace = fqName.slice(0, lastDot);
  const name = fqName.slice(lastDot + 1);
  const partProblem = checkNamespace(namespace) ?? checkName(name);
  if (partProblem !== undefined) {
    return `${rule}; in ${shown(fqName)}, ${partProblem}`;
  }
  if (normalizeName(name) !== name) {
    return (
      "fully-qualified name must end in the job name in ASCII lower case with '-' as '_'; " +
      `use '${fullyQualifiedName(namespace, name)}' instead of ${shown(fqName)}`
    );
  }
  return undefined;
}

/** Replaces accented letters by their base letter and every other refused run by `replacement`. */
function cleaned(value: string, allowed: (code: number) => boolean, replacement: string): string {
  const withoutAccents = value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let result = '';
  let pendingReplacement = false;
  for (const char of withoutAccents) {
    if (allowed(char.charCodeAt(0)) && char.length === 1) {
      if (pendingReplacement && result.length > 0) {
        result += replacement;
      }
      result += char;
      pendingReplacement = false;
    } else {
      pendingReplacement = true;
    }
  }
  return result;
}

/** The nearest valid job name to `name` (itself when valid), for quick fixes. */
export function suggestName(name: string): string {
  if (checkName(name) === undefined) {
    return name;
  }
  const suggestion = cleaned(name.trim(), isWordChar, '-').slice(0, NAME_MAX_LENGTH);
  return suggestion.length > 0 ? suggestion : 'job';
}

/** The nearest valid namespace to `namespace` (itself when valid), for quick fixes. */
export function suggestNamespace(namespace: string): string {
  if (checkNamespace(namespace) === undefined) {
    return namespace;
  }
  const segments = namespace
    .split('.')
    .map((segment) => cleaned(segment.trim(), isWordChar, '-'))
    .filter((segment) => segment.length > 0);
  let suggestion = segments.join('.').slice(0, NAMESPACE_MAX_LENGTH);
  suggestion = suggestion.replace(/\.+$/, '');
  return suggestion.length > 0 ? suggestion : 'com.example';
}

/** The nearest valid version to `version` (itself when valid), for quick fixes. */
export function suggestVersion(version: string): string {
  if (checkVersion(version) === undefined) {
    return version;
  }
  const suggestion = cleaned(version.trim(), isVersionChar, '-').slice(0, VERSION_MAX_LENGTH);
  return suggestion.length > 0 ? suggestion : '0.1.0';
}
