/**
 * The manifest's `required_extensions` against the extensions of the connected agent: an entry
 * the agent lacks is a warning on that entry (its runs would be refused there), and a hover names
 * what an extension exports. Pure: the caller gives the agent's list.
 */
import type { ExtensionInfo } from '../api/contract';
import { locateKeys, type ValueLocation } from './locate';
import type { ManifestCheck, Problem, TextRange } from './types';

/** Warnings for the declared extensions that `available` does not have. */
export function checkExtensionsAvailable(text: string, check: ManifestCheck, available: readonly ExtensionInfo[], agentLabel: string): Problem[] {
  const declared = check.manifest?.required_extensions ?? [];
  const items = locateKeys(text).get('required_extensions')?.value.items ?? [];
  const names = available.map((extension) => extension.name);
  const has = names.length > 0 ? `it has ${names.join(', ')}` : 'it has none';
  return declared.flatMap((name, index): Problem[] => {
    if (names.includes(name)) return [];
    const range = items[index]?.range;
    if (!range) return [];
    return [
      {
        code: 'extension-not-available',
        severity: 'warning',
        key: 'required_extensions',
        range,
        message: `${agentLabel} has no extension "${name}" (${has}): runs of this job there are refused. Start it with --extensions DIR holding ${name}.wasm, or use another agent.`,
      },
    ];
  });
}

/** The `required_extensions` item under the cursor: its name and range. */
export function extensionUnderCursor(text: string, line: number, column: number): { name: string; range: TextRange } | undefined {
  const items: ValueLocation[] = locateKeys(text).get('required_extensions')?.value.items ?? [];
  const item = items.find((i) => i.range.line === line && column >= i.range.column && column <= i.range.column + i.range.length);
  if (!item) return undefined;
  const name = item.text.replace(/^["']|["']$/g, '');
  return { name, range: item.range };
}

/** Markdown for the hover of an extension entry. */
export function extensionMarkdown(name: string, info: ExtensionInfo | undefined, agentLabel: string): string {
  if (!info) return `**Extension \`${name}\`**: ${agentLabel} does not have it, so runs of this job there are refused.`;
  const exports = info.exports.length > 0 ? info.exports.map((e) => `\`${e}\``).join(', ') : 'nothing';
  return `**Extension \`${name}\`** on ${agentLabel} exports ${exports} (${info.size} bytes, ${info.integrity}).`;
}
