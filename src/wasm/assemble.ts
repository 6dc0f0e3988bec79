/**
 * Writing a module back after a rewrite changed some of its sections (fuel.ts, resettable.ts):
 * sections re-encoded, one entry appended to a vector section, the whole put together in the order
 * the binary format requires.
 */
import { concatBytes, encodeUleb } from './memoryCap';
import { SECTION_RANK, type Section, SectionId, sectionReader } from './sections';

/** A vector section (count, entries) with one more entry at its end; a new section when there was none. */
export function withEntry(bytes: Uint8Array, section: Section | undefined, id: number, entry: Uint8Array): Uint8Array {
  if (!section) return encodedSection(id, concatBytes([Uint8Array.from([1]), entry]));
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of entries of a section');
  return encodedSection(id, concatBytes([Uint8Array.from(encodeUleb(count + 1)), bytes.subarray(reader.offset, section.end), entry]));
}

export function encodedSection(id: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from([id, ...encodeUleb(content.length)]), content]);
}

/**
 * The module with the replaced sections in place of the originals, and those it did not have
 * (global, export) added where the section order wants them; custom sections stay where they were.
 */
export function assemble(bytes: Uint8Array, sections: Section[], replaced: Map<number, Uint8Array>): Uint8Array {
  const present = new Set(sections.map((section) => section.id));
  const added = [...replaced.keys()].filter((id) => !present.has(id)).sort((a, b) => SECTION_RANK[a]! - SECTION_RANK[b]!);
  const pieces: Uint8Array[] = [bytes.subarray(0, sections[0]?.start ?? bytes.length)];
  for (const section of sections) {
    while (section.id !== SectionId.Custom && added.length > 0 && SECTION_RANK[added[0]!]! < SECTION_RANK[section.id]!) {
      pieces.push(replaced.get(added.shift()!)!);
    }
    pieces.push(replaced.get(section.id) ?? bytes.subarray(section.start, section.end));
  }
  for (const id of added) pieces.push(replaced.get(id)!);
  return concatBytes(pieces);
}
