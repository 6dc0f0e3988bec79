/** S3 failures in the agent's terms: the store is unreachable (503) or refused the credentials (403). */

/** The object store could not be reached or answered with a server error. */
export class StoreUnavailableError extends Error {
  readonly status = 503;
  constructor(where: string, cause: string) {
    super(`object store unreachable at ${where} (${cause}); check that it runs and that AWS_ENDPOINT_URL or --s3-endpoint names it`);
    this.name = 'StoreUnavailableError';
  }
}

/** The object store refused the agent's credentials or denied access to the bucket, or the agent has none. */
export class StoreCredentialsError extends Error {
  readonly status = 403;
  constructor(where: string, cause: string, missing = false) {
    super(
      missing
        ? `the agent has no credentials for the object store at ${where} (${cause}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
        : `the object store at ${where} refused the agent's credentials (${cause}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
    this.name = 'StoreCredentialsError';
  }
}

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isPreconditionFailed(error: unknown): boolean {
  const e = error as SdkError;
  return httpStatusOf(error) === 412 || e?.name === 'PreconditionFailed';
}

export function isNotFound(error: unknown): boolean {
  const e = error as SdkError;
  return httpStatusOf(error) === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

/**
 * The agent's error for an S3 failure: credentials (403), unreachable or failing store (503).
 * Anything else (a 4xx this code did not expect) is returned unchanged.
 */
export function translateS3Error(error: unknown, where: string): Error {
  if (error instanceof StoreUnavailableError || error instanceof StoreCredentialsError) return error;
  const e = error as SdkError;
  const status = httpStatusOf(error);
  // An answer without a body (HEAD) has no S3 error code: the SDK calls it 'Unknown' or '403'.
  const named = e?.name ?? e?.code;
  const code = named && named !== 'Unknown' && !/^\d+$/.test(named) ? named : `HTTP ${status ?? '?'}`;
  // The SDK found no keys to sign with: nothing was sent, so the store refused nothing.
  if (code === 'CredentialsProviderError') return new StoreCredentialsError(where, code, true);
  if (CREDENTIAL_CODES.has(code) || status === 403) return new StoreCredentialsError(where, code);
  if (status === undefined || status >= 500 || status === 429) {
    const cause = (e?.code ?? '') || (e?.message ?? code);
    return new StoreUnavailableError(where, status === undefined ? String(cause).split('\n')[0] : `${code}`.replace(/^(?!HTTP)/, `HTTP ${status} `));
  }
  return error instanceof Error ? error : new Error(String(error));
}
