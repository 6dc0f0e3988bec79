/**
 * One agent per local store: `<store>/agent.lock` (mode 0600, readable by the user only) names the
 * agent that owns the folder: its pid, and once it listens its URL and token. A second agent on the
 * folder refuses to start and points at the first; the extension reads the file to use a running
 * agent instead of starting another (all windows of one VS Code share one agent and one catalogue).
 * A lock whose process is gone is taken over.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { writeFileAtomic } from './durable';

export const LOCK_FILE = 'agent.lock';

export interface AgentLockInfo {
  pid: number;
  host: string;
  started_at: string;
  /** Set once the agent listens. */
  url?: string;
  token?: string;
}

/** Another live agent owns the store. */
export class StoreInUseError extends Error {
  constructor(
    readonly location: string,
    readonly owner: AgentLockInfo,
  ) {
    const where = owner.url ? `, listening on ${owner.url}` : ', still starting';
    super(
      `the storage folder ${location} is in use by another Serval agent (pid ${owner.pid}${where}); ` +
        `use that agent (serval --agent ${owner.url ?? 'URL'} …), stop it, or start this one with another --storage folder`,
    );
    this.name = 'StoreInUseError';
  }
}

/** A lock file this young without content is an agent writing it right now, not a dead one. */
const FRESH_LOCK_MS = 5_000;

export class AgentLock {
  private constructor(
    private readonly file: string,
    private info: AgentLockInfo,
  ) {}

  /** Takes the store's lock, or throws StoreInUseError naming the live owner. */
  static async acquire(location: string): Promise<AgentLock> {
    const file = path.join(location, LOCK_FILE);
    const info: AgentLockInfo = { pid: process.pid, host: os.hostname(), started_at: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const handle = await fs.open(file, 'wx', 0o600);
        try {
          await handle.writeFile(JSON.stringify(info));
          await handle.sync();
        } finally {
          await handle.close();
        }
        return new AgentLock(file, info);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readAgentLock(location);
      if (owner && isAlive(owner)) throw new StoreInUseError(location, owner);
      if (!owner && (await isFresh(file))) {
        throw new StoreInUseError(location, { pid: 0, host: os.hostname(), started_at: '' });
      }
      // The owner is gone (killed, crashed, machine restarted): take over its lock.
      await fs.rm(file, { force: true });
    }
    throw new Error(`could not take the lock ${file}: other agents keep taking it`);
  }

  /** Adds the URL and token once the agent listens, for windows and tools that look for it. */
  async advertise(url: string, token: string | undefined): Promise<void> {
    this.info = { ...this.info, url, token };
    const text = JSON.stringify(this.info);
    await writeFileAtomic(this.file, text, 0o600).catch(async () => {
      // A full disk has no inode for the temp file; the lock's own block has room for these bytes.
      const handle = await fs.open(this.file, 'r+');
      try {
        await handle.truncate(0);
        await handle.write(text, 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Removes the lock, if it is still ours. */
  async release(): Promise<void> {
    const current = await readAgentLock(path.dirname(this.file));
    if (current?.pid === this.info.pid && current.started_at === this.info.started_at) {
      await fs.rm(this.file, { force: true });
    }
  }
}

/** The lock of a store, when there is one that parses (whether its agent still runs or not). */
export async function readAgentLock(location: string): Promise<AgentLockInfo | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(location, LOCK_FILE), 'utf8')) as Partial<AgentLockInfo>;
    if (typeof parsed.pid !== 'number' || typeof parsed.started_at !== 'string') return undefined;
    return parsed as AgentLockInfo;
  } catch {
    return undefined;
  }
}

/** Whether the lock's agent still runs (on this machine: a lock from another host is trusted). */
export function isAlive(owner: AgentLockInfo): boolean {
  if (owner.host !== os.hostname()) return true;
  return owner.pid === process.pid || processRuns(owner.pid);
}

/** Whether a process of this machine has that pid (one of another user's counts: EPERM). */
export function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isFresh(file: string): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs < FRESH_LOCK_MS;
  } catch {
    return false;
  }
}
