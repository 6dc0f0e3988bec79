/** Helpers shared by the manifest tests: ranges written as "the n-th occurrence of this text". */
import { TextRange } from '../../src/manifest/types';

/**
 * The range of the `occurrence`-th (1-based) `snippet` in `text`, computed independently of the
 * locator under test; `length` spans line breaks the way the locator documents.
 */
export function rangeOf(text: string, snippet: string, occurrence = 1): TextRange {
  let offset = -1;
  for (let i = 0; i < occurrence; i++) {
    offset = text.indexOf(snippet, offset + 1);
    if (offset < 0) throw new Error(`test bug: ${JSON.stringify(snippet)} #${occurrence} not in the text`);
  }
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  const column = offset - (before.lastIndexOf('\n') + 1);
  return { line, column, length: snippet.length };
}

export const VALID_MANIFEST = [
  '# A job that shouts.',
  'name = "loudify"',
  'namespace = "sh.serval"',
  'version = "1.0.0"',
  'binary = "loudify.wasm"',
  'description = "Turns its input into upper case."',
  '',
].join('\n');

/** The valid manifest with the line of `key` replaced (or removed when `line` is undefined). */
export function withLine(key: string, line: string | undefined): string {
  return VALID_MANIFEST.split('\n')
    .flatMap((existing) => (existing.startsWith(`${key} =`) ? (line === undefined ? [] : [line]) : [existing]))
    .join('\n');
}
