/**
 * The cross-origin guard in a real browser: headless Chromium opens a page served from another
 * local origin, which submits a form and sends fetches to an agent started without a token (the
 * CLI's default). The browser sends them (the agent sees them), the agent refuses them: nothing
 * stored, no job run.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import type { AgentStatus } from '../../src/api/contract';
import { manifestText, request, startTestAgent, storeJob, waitFor, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const MANIFESTS = '/v1/storage/manifests';
const RUN = '/v1/jobs/test.serval.hello/run';

/** The attacker's page: a text/plain form that stores a manifest, one that runs a job, and fetches of both. */
function hostilePage(agentUrl: string): string {
  const manifest = manifestText('evil', '9');
  // text/plain forms send `name=value`: the manifest is the field's name, `=` lands in a comment.
  const field = `${manifest}\n#`.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/\n/g, '&#10;');
  return `<!doctype html><html><body>
<form id="store" method="POST" enctype="text/plain" action="${agentUrl}${MANIFESTS}" target="store-frame"><input type="hidden" name='${field}' value=""></form>
<form id="run" method="POST" enctype="text/plain" action="${agentUrl}${RUN}" target="run-frame"><input type="hidden" name="input" value="x"></form>
<iframe name="store-frame"></iframe><iframe name="run-frame"></iframe>
<script>
  window.attack = async () => {
    document.getElementById('store').submit();
    document.getElementById('run').submit();
    const results = [];
    for (const [path, body] of [[${JSON.stringify(MANIFESTS)}, ${JSON.stringify(manifest)}], [${JSON.stringify(RUN)}, 'x']]) {
      for (const mode of ['no-cors', 'cors']) {
        try {
          const answer = await fetch(${JSON.stringify(agentUrl)} + path, { method: 'POST', mode, headers: { 'content-type': 'text/plain' }, body });
          results.push(mode + ' ' + answer.type + ' ' + answer.status);
        } catch (error) {
          results.push(mode + ' refused: ' + error.message);
        }
      }
    }
    return results;
  };
</script></body></html>`;
}

describe('agent in a real browser: pages of other origins', function () {
  this.timeout(60_000);
  let agent: TestAgent;
  let pageServer: http.Server | undefined;
  let profile: string | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: no Chromium at ${CHROMIUM} (.ci/run installs it with the VS Code runtime)`);
      this.skip();
    }
    agent = await startTestAgent();
    await storeJob(agent, 'hello', '1', await buildWat('hello'));
  });

  after(async () => {
    await agent?.stop();
    await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve(undefined)));
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('refuses a form and fetches from a page of another 127.0.0.1 port: nothing stored, no job run', async () => {
    const { chromium } = await import('playwright-core');
    pageServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(hostilePage(agent.url)));
    await new Promise<void>((resolve) => pageServer!.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
    const status = async (): Promise<AgentStatus> => JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text);
    const jobsBefore = (await status()).jobs.total;

    profile = await mkdtemp(path.join(os.tmpdir(), 'serval-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    let results: string[];
    try {
      const page = await browser.newPage();
      await page.goto(pageUrl);
      results = await page.evaluate(() => (globalThis as unknown as { attack(): Promise<string[]> }).attack());
      // The form's answer, shown in its frame, is the agent's refusal.
      const storeFrame = page.frame({ name: 'store-frame' });
      await waitFor('the form to be answered', async () => /--allow-origin/.test((await storeFrame?.content()) ?? ''));
    } finally {
      await browser.close();
    }

    const refusals = agent.logs.filter((line) => line.message === 'request' && line.fields?.status === 403 && line.fields?.method === 'POST');
    assert.ok(refusals.filter((line) => line.fields?.path === MANIFESTS).length >= 3, `form and fetches reached the agent and were refused: ${results.join('; ')}`);
    assert.ok(refusals.filter((line) => line.fields?.path === RUN).length >= 3, 'the runs too');
    assert.ok(results.every((result) => !/ 20\d$/.test(result)), results.join('; '));
    assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), ['test.serval.hello'], 'nothing stored');
    assert.equal((await status()).jobs.total, jobsBefore, 'no job run');
  });
});
