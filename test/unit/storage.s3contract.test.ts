/** The storage contract suite on the S3 backend, against a real Ceph RGW (skipped without one). */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

import { makeS3Client, parseS3Url, s3Settings } from '../../src/agent/storage/s3/config';
import { openS3Store } from '../../src/agent/storage/s3/s3Store';
import { describeWithS3, freshS3Url } from '../helpers/s3';
import { describeJobStore } from './storage/contract';

describeWithS3('S3 backend', (getStore) => {
  describeJobStore('s3 (Ceph RGW)', async () => {
    const store = getStore();
    const url = freshS3Url(store, 'contract');
    const { bucket, prefix } = parseS3Url(url);
    const client = makeS3Client(s3Settings(url, store.env));
    // One cache folder across restarts, as an agent keeps it.
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-s3-contract-'));
    const keyOf = (integrity: string): string =>
      `${prefix}blobs/sha256/${Buffer.from(integrity.slice('sha256-'.length), 'base64').toString('hex')}`;
    return {
      open: () => openS3Store(url, () => undefined, { env: store.env, cacheDir }),
      damage: async (integrity) => {
        const key = keyOf(integrity);
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = Buffer.from(await answer.Body!.transformToByteArray());
        bytes[0] ^= 0xff;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      },
      leftovers: () => fs.readdir(path.join(cacheDir, 'uploads')).catch(() => []),
      cleanup: async () => {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
        const objects = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
        if (objects.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
        client.destroy();
        await fs.rm(cacheDir, { recursive: true, force: true });
      },
    };
  });
});
