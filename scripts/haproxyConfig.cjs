// The haproxy configuration in front of several agents, shared by `npm run demo:cluster`
// (scripts/cluster.mjs) and the cluster tests (test/helpers/cluster.ts): round robin, each agent
// health-checked on GET /monitor/ping, and a request an agent dropped (it died mid-way) sent to
// another one. CommonJS so that both the ES module script and tsc's CommonJS tests can load it.
'use strict';

/**
 * @param {{ port: number, agentUrls: string[], pidFile: string, checkEveryMs: number, failAfter: number,
 *           timeouts: { connect: string, client: string, server: string }, logToStderr?: boolean }} options
 * @returns {string}
 */
function haproxyConfig({ port, agentUrls, pidFile, checkEveryMs, failAfter, timeouts, logToStderr = false }) {
  const servers = agentUrls.map((url, i) => `    server agent${i + 1} ${new URL(url).host} check inter ${checkEveryMs} fall ${failAfter} rise 1`);
  return [
    'global',
    `    pidfile ${pidFile}`,
    ...(logToStderr ? ['    log stderr format raw local0 notice'] : []),
    '',
    'defaults',
    '    mode http',
    `    timeout connect ${timeouts.connect}`,
    `    timeout client ${timeouts.client}`,
    `    timeout server ${timeouts.server}`,
    '    retries 2',
    '    option redispatch',
    '',
    'frontend serval',
    `    bind 127.0.0.1:${port}`,
    '    default_backend agents',
    '',
    'backend agents',
    '    balance roundrobin',
    '    option httpchk GET /monitor/ping',
    '    http-check expect status 200',
    ...servers,
    '',
  ].join('\n');
}

module.exports = { haproxyConfig };
