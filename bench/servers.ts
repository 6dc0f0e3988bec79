/** The bench's server processes: started by their `listening on <url>` line, stopped by SIGTERM. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Server } from './report';

/** Starts a node script that prints `listening on <url>` once it listens. */
export async function spawnServer(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening on (\S+)\n/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0]!)} exited with ${code} before listening`)));
  });
  return { child, url, pid: child.pid! };
}

export async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}
