/** Tables of names, namespaces and versions shared by the names test and the schema test. */

/** [value, expected: undefined when valid, else a substring of the message]. */
export type Case = [string, string | undefined];

export const NAME_CASES: Case[] = [
  ['loudify', undefined],
  ['Loud-ify', undefined],
  ['_x-9', undefined],
  ['a'.repeat(64), undefined],
  ['', "name must be 1-64 characters of A-Z a-z 0-9 _ -; it is empty"],
  ['a b', "name must be 1-64 characters of A-Z a-z 0-9 _ -; 'a b' has a space"],
  ['a.b', "'a.b' has a '.'"],
  ['héllo', "'héllo' has 'é'"],
  ['a\tb', 'has a tab'],
  ['a😀', "has '😀'"],
  ['a'.repeat(65), 'has 65 characters'],
];

export const NAMESPACE_CASES: Case[] = [
  ['sh.serval', undefined],
  ['sh', undefined],
  ['Com.Example-1.under_score', undefined],
  ['a'.repeat(128), undefined],
  ['', 'namespace must be 1-128 characters, dot-separated segments of A-Z a-z 0-9 _ - with no empty segment; it is empty'],
  ['sh..serval', "'sh..serval' has an empty segment"],
  ['.sh', 'has an empty segment'],
  ['sh.', 'has an empty segment'],
  ['sh serval', "'sh serval' has a space"],
  ['sh/serval', "has '/'"],
  ['a'.repeat(129), 'has 129 characters'],
];

export const VERSION_CASES: Case[] = [
  ['1.0.0', undefined],
  ['1.0.0-beta.1+build_7', undefined],
  ['latest', undefined],
  ['', 'version must be 1-64 characters of A-Z a-z 0-9 . _ + -; it is empty'],
  ['1.0 beta', "'1.0 beta' has a space"],
  ['v1/2', "has '/'"],
  ['1'.repeat(65), 'has 65 characters'],
  ['.', "version must not be '.' or '..'"],
  ['..', "version must not be '.' or '..'"],
  ['...', undefined],
  ['.1', undefined],
  ['..1', undefined],
];
