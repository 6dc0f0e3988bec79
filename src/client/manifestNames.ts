/**
 * Normalises the answer of `GET /v1/storage/manifests` to sorted, unique fully-qualified names.
 *
 * Our agent answers with fq names. The original Rust agent answered with its raw storage keys:
 * `<fq>.manifest.toml` for each manifest and `<fq>.<version>.wasm` for each executable. Versions may
 * hold dots (`1.0.0`), so an executable key is split at the longest fq name known from a manifest key,
 * and only without one by guessing that the version is the first segment that starts with a digit.
 */

const MANIFEST_SUFFIX = '.manifest.toml';
const EXECUTABLE_SUFFIX = '.wasm';

export function normaliseManifestNames(entries: readonly string[]): string[] {
  const names = entries.some((entry) => entry.endsWith(MANIFEST_SUFFIX)) ? namesFromStorageKeys(entries) : entries;
  return [...new Set(names)].sort();
}

function namesFromStorageKeys(keys: readonly string[]): string[] {
  const manifestNames = keys.filter((key) => key.endsWith(MANIFEST_SUFFIX)).map((key) => key.slice(0, -MANIFEST_SUFFIX.length));
  // Longest first, so that `a.b.c` wins over `a.b` for the key `a.b.c.1.wasm`.
  const byLength = [...manifestNames].sort((a, b) => b.length - a.length);
  const executableNames = keys
    .filter((key) => key.endsWith(EXECUTABLE_SUFFIX))
    .map((key) => nameOfExecutableKey(key.slice(0, -EXECUTABLE_SUFFIX.length), byLength));
  const otherNames = keys.filter((key) => !key.endsWith(MANIFEST_SUFFIX) && !key.endsWith(EXECUTABLE_SUFFIX));
  return [...manifestNames, ...executableNames, ...otherNames];
}

/** `stem` is `<fq>.<version>`. */
function nameOfExecutableKey(stem: string, knownNamesLongestFirst: readonly string[]): string {
  const known = knownNamesLongestFirst.find((name) => stem.startsWith(`${name}.`));
  if (known !== undefined) return known;
  const segments = stem.split('.');
  // An fq name has at least two segments (namespace, name); the version starts after them.
  const versionStart = segments.findIndex((segment, index) => index >= 2 && /^\d/.test(segment));
  const nameSegments = versionStart === -1 ? segments.length - 1 : versionStart;
  return segments.slice(0, Math.max(1, nameSegments)).join('.');
}
