/** The storage contract suite on the local backend (a cacache folder in a temp dir). */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalJobStore, contentFile } from '../../src/agent/storage';
import { describeJobStore } from './storage/contract';

describeJobStore('local (cacache folder)', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-store-contract-'));
  return {
    open: () => LocalJobStore.open(dir, () => undefined),
    damage: async (integrity) => {
      const file = contentFile(dir, integrity);
      const bytes = await fs.readFile(file);
      bytes[0] ^= 0xff;
      // Written in place (the content file is read-only to cacache's readers, not to root or a disk fault).
      await fs.chmod(file, 0o644);
      await fs.writeFile(file, bytes);
    },
    leftovers: () => fs.readdir(path.join(dir, 'tmp')).catch(() => []),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
});
