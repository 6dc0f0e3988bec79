/** The agent's default log sink: one JSON object per line on stderr. */
import type { AgentLog, LogLevel } from '../types';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function isLogLevel(value: string | undefined): value is LogLevel {
  return value !== undefined && value in LEVEL_RANK;
}

/**
 * Logs `minLevel` and above (default: `SERVAL_LOG_LEVEL`, else info). Per-request lines are debug,
 * so by default a busy agent writes nothing per request.
 */
export function stderrLog(minLevel: LogLevel = defaultLevel()): AgentLog {
  const minRank = LEVEL_RANK[minLevel];
  const log: AgentLog = (level, message, fields) => {
    if (LEVEL_RANK[level] < minRank) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  if (minRank > LEVEL_RANK.debug) quietLogs.add(log);
  return log;
}

/** Logs known to drop debug lines: the server then skips building its per-request line. */
const quietLogs = new WeakSet<AgentLog>();

/** Whether `log` may write debug lines (any log but a quiet stderrLog: a test's, the extension's). */
export function logsDebug(log: AgentLog): boolean {
  return !quietLogs.has(log);
}

function defaultLevel(): LogLevel {
  const fromEnvironment = process.env.SERVAL_LOG_LEVEL?.toLowerCase();
  return isLogLevel(fromEnvironment) ? fromEnvironment : 'info';
}
