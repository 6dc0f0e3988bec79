/**
 * Drops the custom sections of a module (names, DWARF debug info, producers): they do not change
 * what it computes, yet V8 keeps a module's whole wire bytes with the compiled code, and a debug
 * build is mostly custom sections (a 60 MiB Rust debug build: ~90%).
 */
import { concatBytes } from './memoryCap';
import { readSections, SectionId } from './sections';

const WASM_HEADER_BYTES = 8;

/** The module without its custom sections; the same bytes (not a copy) when it has none. */
export function stripCustomSections(bytes: Uint8Array): Uint8Array {
  const sections = readSections(bytes);
  const custom = sections.filter((section) => section.id === SectionId.Custom);
  if (custom.length === 0) return bytes;
  const kept = sections.filter((section) => section.id !== SectionId.Custom);
  return concatBytes([bytes.subarray(0, WASM_HEADER_BYTES), ...kept.map((section) => bytes.subarray(section.start, section.end))]);
}
