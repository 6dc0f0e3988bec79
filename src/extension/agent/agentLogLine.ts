/**
 * The agent logs JSON lines on stderr. This turns one line into a level and a message for the
 * extension's LogOutputChannel. Pure: no `vscode`, unit-tested.
 */

export type LineLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface ParsedLogLine {
  level: LineLevel;
  message: string;
}

const KNOWN_LEVELS: ReadonlySet<string> = new Set(['trace', 'debug', 'info', 'warn', 'error']);
/** Fields that are already shown by the channel (level, time) or become the message itself. */
const CONSUMED_FIELDS = new Set(['level', 'msg', 'message', 'time', 'ts', 'timestamp']);

export function parseAgentLogLine(line: string): ParsedLogLine {
  const record = tryParseObject(line);
  // A line that is not ours (a Node warning, a crash trace) is still worth seeing, as a warning.
  if (!record) return { level: 'warn', message: line };
  const level = normaliseLevel(record.level);
  const text = String(record.msg ?? record.message ?? '');
  const extra = Object.entries(record).filter(([key]) => !CONSUMED_FIELDS.has(key));
  const details = extra.length > 0 ? ` ${JSON.stringify(Object.fromEntries(extra))}` : '';
  return { level, message: `${text}${details}` };
}

function tryParseObject(line: string): Record<string, unknown> | undefined {
  if (!line.trimStart().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function normaliseLevel(level: unknown): LineLevel {
  if (typeof level === 'string') {
    const lower = level.toLowerCase();
    if (lower === 'warning') return 'warn';
    if (lower === 'fatal') return 'error';
    if (KNOWN_LEVELS.has(lower)) return lower as LineLevel;
  }
  return 'info';
}
