/**
 * Where an S3-backed agent keeps its jobs: `s3://BUCKET[/PREFIX]`, an endpoint and credentials
 * from the AWS SDK's standard variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION), or `--s3-endpoint`.
 */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Location {
  bucket: string;
  /** '' or a prefix ending in '/', under which every key of this store lives. */
  prefix: string;
}

export interface S3Settings extends S3Location {
  /** http(s)://host:port of an S3-compatible store; undefined: AWS itself. */
  endpoint: string | undefined;
  region: string;
  /** Undefined: the SDK's own chain (profiles, instance roles, …). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

const S3_URL = /^s3:\/\/([^/]+)(?:\/(.*))?$/;
/** S3 bucket naming rules (lower case, digits, dots, hyphens; 3 to 63 characters). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(storage: string): boolean {
  return storage.startsWith('s3://');
}

/** The bucket and prefix of `s3://BUCKET[/PREFIX]`; throws a one-line reason when it is not one. */
export function parseS3Url(url: string): S3Location {
  const match = S3_URL.exec(url);
  if (!match) throw new Error(`'${url}' is not an S3 location; write s3://BUCKET or s3://BUCKET/PREFIX`);
  const [, bucket, rawPrefix = ''] = match;
  if (!BUCKET_NAME.test(bucket)) {
    throw new Error(`'${bucket}' is not a valid bucket name: use 3 to 63 lower-case letters, digits, dots or hyphens`);
  }
  const prefix = rawPrefix.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`the prefix '${rawPrefix}' of ${url} has an empty, '.' or '..' part; write s3://BUCKET/team/jobs`);
  }
  return { bucket, prefix: prefix === '' ? '' : `${prefix}/` };
}

/** Settings from the location, an explicit endpoint (flag) and the environment. */
export function s3Settings(url: string, env: NodeJS.ProcessEnv, endpointFlag?: string): S3Settings {
  const location = parseS3Url(url);
  const endpoint = endpointFlag || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new Error(`the S3 endpoint '${endpoint}' is not an http(s) URL; write e.g. http://127.0.0.1:7480`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined;
  return {
    ...location,
    endpoint: endpoint?.replace(/\/+$/, ''),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    credentials,
  };
}

/** `s3://bucket/prefix` at `endpoint`, as messages and the status route name it. */
export function describeLocation(settings: S3Settings): string {
  return `s3://${settings.bucket}/${settings.prefix}`.replace(/\/$/, '') + (settings.endpoint ? ` at ${settings.endpoint}` : '');
}

export function makeS3Client(settings: S3Settings): S3Client {
  // The SDK warns once, in several lines, that releases after January 2027 need Node 22: this
  // release is pinned, and the agent's stderr is one JSON line per log record.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: settings.credentials,
    // Non-AWS stores (Ceph RGW, …) address buckets by path, not by a DNS name per bucket.
    forcePathStyle: settings.endpoint !== undefined,
    // The SDK's default CRC checksums are an AWS extension other stores reject or ignore; integrity
    // is checked end to end by sha256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A store that is down must become a clear 503 soon, not a request hanging for minutes.
    maxAttempts: 2,
    // The SDK would print its warnings (e.g. that a streamed upload is not retried: blobs.ts tries
    // it again itself) on the console, breaking the agent's one JSON line per log record.
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 30_000 },
  });
}
