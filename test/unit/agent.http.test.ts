import * as assert from 'node:assert/strict';
import * as http from 'node:http';

import { request, startTestAgent, storeJob, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const TOKEN = 'secret-token-4f1c';
const MANIFESTS = '/v1/storage/manifests';

/** Sends `total` bytes in 16 KiB chunks without a Content-Length (chunked encoding). */
function chunkedUpload(url: string, method: string, path: string, total: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, url), { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.byteLength;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('agent HTTP: guards, routing and limits', () => {
  describe('with a token', () => {
    let agent: TestAgent;

    before(async () => {
      agent = await startTestAgent({ token: TOKEN });
    });

    after(async () => {
      await agent.stop();
    });

    it('answers 401 without the token or with a wrong one, saying how to send it', async () => {
      for (const token of [undefined, 'wrong']) {
        const answer = await request(agent.url, 'GET', MANIFESTS, { token });
        assert.equal(answer.status, 401);
        assert.match(answer.text, /Authorization: Bearer <token>/);
        assert.equal(answer.headers['www-authenticate'], 'Bearer realm="serval"');
      }
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.x/run')).status, 401);
    });

    it('answers the right token, and GET /monitor/ping without one', async () => {
      assert.equal((await request(agent.url, 'GET', MANIFESTS, { token: TOKEN })).status, 200);
      const ping = await request(agent.url, 'GET', '/monitor/ping');
      assert.equal(ping.status, 200);
      assert.equal(ping.text, 'pong');
      assert.equal(ping.headers['content-type'], 'text/plain; charset=utf-8');
    });

    it('never writes the token to its log', async () => {
      await request(agent.url, 'GET', MANIFESTS, { token: TOKEN });
      await request(agent.url, 'GET', MANIFESTS, { token: `${TOKEN}x` });
      assert.ok(agent.logs.length > 0);
      assert.ok(!JSON.stringify(agent.logs).includes(TOKEN));
    });
  });

  describe('without a token', () => {
    let agent: TestAgent;

    before(async () => {
      agent = await startTestAgent({ allowHosts: ['build-box'], maxBodyBytes: 4096 });
      await storeJob(agent, 'hello', '1', await buildWat('hello'));
    });

    after(async () => {
      await agent.stop();
    });

    it('answers 403 to a Host it does not know, and accepts its own names with or without a port', async () => {
      const refused = await request(agent.url, 'GET', '/monitor/ping', { headers: { host: 'evil.example:8100' } });
      assert.equal(refused.status, 403);
      assert.match(refused.text, /Host 'evil.example:8100' is not accepted.*--allow-host/);
      const port = new URL(agent.url).port;
      for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `LOCALHOST:${port}`, '[::1]', `[::1]:${port}`, 'build-box:9']) {
        assert.equal((await request(agent.url, 'GET', '/monitor/ping', { headers: { host } })).status, 200, host);
      }
    });

    it('answers 404 to an unknown route and 405 with Allow to a wrong method', async () => {
      const unknown = await request(agent.url, 'GET', '/v2/nothing');
      assert.equal(unknown.status, 404);
      assert.match(unknown.text, /there is no route \/v2\/nothing/);

      const wrong = await request(agent.url, 'DELETE', MANIFESTS);
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.allow, 'GET, POST, HEAD');
      assert.match(wrong.text, /DELETE is not allowed on \/v1\/storage\/manifests; use GET, POST, HEAD/);
    });

    it('answers HEAD like GET without a body', async () => {
      const head = await request(agent.url, 'HEAD', MANIFESTS);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(head.body.byteLength, 0);
      assert.equal((await request(agent.url, 'HEAD', '/monitor/ping')).status, 200);
    });

    it('answers 400, naming the rule, to a path parameter that is not a valid name or version', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['GET', `${MANIFESTS}/nodot`, /fully-qualified name must be namespace.name/],
        ['GET', `${MANIFESTS}/test.serval.Hello`, /use 'test.serval.hello' instead/],
        ['POST', '/v1/jobs/test.serval.he%20llo/run', /a space/],
        ['GET', `${MANIFESTS}/test.serval.hello/executable/1%2F2`, /version must be 1-64 characters/],
        ['PUT', `${MANIFESTS}/test.serval.hello/executable/1@2`, /version must be/],
        ['POST', '/v1/jobs/test.serval.hello/run?version=', /version must be .*it is empty/],
        ['GET', `${MANIFESTS}/test.serval.%E0%A4%A`, /not valid percent-encoding/],
      ];
      for (const [method, path, message] of cases) {
        const answer = await request(agent.url, method, path);
        assert.equal(answer.status, 400, path);
        assert.match(answer.text, message, path);
        assert.equal(answer.text.trimEnd().split('\n').length, 1);
      }
    });

    it('answers 413 to an upload over the limit, declared or chunked, and stays up', async () => {
      const declared = await request(agent.url, 'PUT', `${MANIFESTS}/test.serval.hello/executable/2`, { body: Buffer.alloc(64 * 1024) });
      assert.equal(declared.status, 413);
      assert.match(declared.text, /executable is larger than this agent's limit of 4096 bytes/);

      const chunked = await chunkedUpload(agent.url, 'PUT', `${MANIFESTS}/test.serval.hello/executable/2`, 8 * 1024 * 1024);
      assert.equal(chunked.status, 413);
      const input = await chunkedUpload(agent.url, 'POST', '/v1/jobs/test.serval.hello/run', 8 * 1024 * 1024);
      assert.equal(input.status, 413);
      assert.match(input.text, /job input is larger/);

      assert.equal((await request(agent.url, 'GET', `${MANIFESTS}/test.serval.hello/executable/2`)).status, 404);
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');
    });

    it('serves many requests on one kept-alive connection', async () => {
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const ports = new Set<number>();
        for (let i = 0; i < 5; i++) {
          await new Promise<void>((resolve, reject) => {
            http
              .get(new URL('/monitor/ping', agent.url), { agent: keepAlive }, (res) => {
                ports.add(res.socket.localPort ?? -1);
                res.resume().on('end', resolve);
              })
              .on('error', reject);
          });
        }
        assert.equal(ports.size, 1);
      } finally {
        keepAlive.destroy();
      }
    });

    it('logs each request at debug level with method, path, status and duration', async () => {
      await request(agent.url, 'GET', '/monitor/status');
      const line = agent.logs.find((r) => r.message === 'request' && r.fields?.path === '/monitor/status');
      assert.ok(line);
      assert.equal(line.level, 'debug');
      assert.equal(line.fields?.method, 'GET');
      assert.equal(line.fields?.status, 200);
      assert.equal(typeof line.fields?.ms, 'number');
    });
  });
});
