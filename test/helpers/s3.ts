/**
 * Tests of the S3 backend run against a real Ceph RADOS Gateway (scripts/ceph/start.sh; .ci/run
 * starts one and exports its variables). Without one configured they skip, saying how to get one;
 * with SERVAL_TEST_S3_REQUIRED=1 (CI) a missing store fails them instead.
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';

export interface S3TestStore {
  endpoint: string;
  bucket: string;
  env: NodeJS.ProcessEnv;
}

export function s3TestStore(): S3TestStore | undefined {
  const endpoint = process.env.SERVAL_TEST_S3_ENDPOINT;
  const accessKeyId = process.env.SERVAL_TEST_S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.SERVAL_TEST_S3_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) return undefined;
  const bucket = process.env.SERVAL_TEST_S3_BUCKET || 'serval';
  return { endpoint, bucket, env: envFor(endpoint, accessKeyId, secretAccessKey) };
}

/** The AWS variables an agent process (or the store) reads, pointing at `endpoint`. */
export function envFor(endpoint: string, accessKeyId: string, secretAccessKey: string): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

/** `s3://BUCKET/tests/<uuid>`: every test gets a catalogue of its own in the shared bucket. */
export function freshS3Url(store: S3TestStore, label = 'test'): string {
  return `s3://${store.bucket}/tests/${label}-${randomUUID()}`;
}

/**
 * `describe` for suites that need the object store: they skip with a message saying how to start
 * one, unless SERVAL_TEST_S3_REQUIRED is set (CI), where a missing store fails loudly.
 */
export function describeWithS3(title: string, body: (store: () => S3TestStore) => void): void {
  const store = s3TestStore();
  if (!store && process.env.SERVAL_TEST_S3_REQUIRED) {
    describe(title, () => {
      it('needs the object store CI was to start', () => {
        throw new Error('SERVAL_TEST_S3_REQUIRED is set but SERVAL_TEST_S3_ENDPOINT and its keys are not: scripts/ceph/start.sh did not run');
      });
    });
    return;
  }
  if (!store) {
    describe(title, () => {
      it.skip('skipped: no S3 store configured (run scripts/ceph/start.sh, then `source <dir>/env`)', () => undefined);
    });
    return;
  }
  describe(title, () => body(() => store));
}

/**
 * A TCP link to the real gateway that a test can cut and restore: "the object store is down" for
 * the agents behind it, while the gateway other tests use keeps running.
 */
export class CuttableLink {
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async to(endpoint: string): Promise<CuttableLink> {
    const url = new URL(endpoint);
    const link = new CuttableLink(url.hostname, Number(url.port || 80));
    await link.restore();
    return link;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Refuses new connections and resets open ones: requests fail as if the store were stopped. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the time it took. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
