/** S3 failures in the agent's terms (src/agent/storage/s3/errors.ts): what a user reads when the store fails. */
import * as assert from 'node:assert/strict';
import { StoreCredentialsError, StoreUnavailableError, translateS3Error } from '../../src/agent/storage/s3/errors';

const WHERE = 'http://127.0.0.1:7480';
const sdkError = (name: string, status?: number): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('S3 errors in the agent\'s terms', () => {
  it('says the agent has no credentials when the SDK found none to sign with (nothing reached the store)', () => {
    const error = translateS3Error(sdkError('CredentialsProviderError'), WHERE);
    assert.ok(error instanceof StoreCredentialsError);
    assert.match(error.message, /^the agent has no credentials for the object store at http:\/\/127\.0\.0\.1:7480 .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('says the store refused the credentials on a 403 or a credential error code', () => {
    for (const error of [sdkError('InvalidAccessKeyId', 403), sdkError('Unknown', 403), sdkError('SignatureDoesNotMatch')]) {
      const translated = translateS3Error(error, WHERE);
      assert.ok(translated instanceof StoreCredentialsError);
      assert.match(translated.message, /refused the agent's credentials/);
    }
  });

  it('says the store is unreachable on a network error or a 5xx', () => {
    for (const error of [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), sdkError('InternalError', 500)]) {
      assert.ok(translateS3Error(error, WHERE) instanceof StoreUnavailableError);
    }
  });
});
