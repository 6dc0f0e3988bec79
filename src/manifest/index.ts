/** The manifest core: pure (no vscode, no file access except in binary.ts). */
export * from './types';
export { KEY_INFO, REQUIRED_KEYS, isManifestKey } from './keys';
export type { KeyInfo, KeyType, ValuePattern } from './keys';
export {
  NAME_MAX_LENGTH,
  NAMESPACE_MAX_LENGTH,
  VERSION_MAX_LENGTH,
  NAME_PATTERN,
  NAMESPACE_PATTERN,
  VERSION_PATTERN,
  checkName,
  checkNamespace,
  checkVersion,
  checkFullyQualifiedName,
  fullyQualifiedName,
  normalizeName,
  suggestName,
  suggestNamespace,
  suggestVersion,
} from './names';
export { locateKeys, rangeEnd } from './locate';
export type { KeyLocation, KeyLocations, ValueLocation } from './locate';
export { checkManifest } from './rules';
export { checkBinary } from './binary';
export { checkFiles } from './filesCheck';
export { checkExtensionsAvailable, extensionMarkdown, extensionUnderCursor } from './extensionsCheck';
