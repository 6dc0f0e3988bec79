/** Exit codes of `serval`, for scripts. Listed in `serval --help`; never renumber one. */
export const EXIT = {
  ok: 0,
  /** Anything not listed below. */
  failure: 1,
  usage: 2,
  agentUnreachable: 3,
  notFound: 4,
  invalidManifest: 5,
  /** 401/403: a token is missing or wrong, or the agent does not accept this host name. */
  refused: 6,
  jobTimedOut: 124,
  /** Interrupted (Ctrl-C) while talking to the agent. */
  interrupted: 130,
  /** The reader of stdout went away (`serval run … | head -1`): 128 + SIGPIPE, as for any Unix tool. */
  brokenPipe: 141,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    success (for run: the job exited with 0)
  N    run: the job's own exit code when it is not 0
  1    other failure (for run: the job trapped, or its output was cut at the agent's limit;
       for test: a case failed)
  2    usage error (unknown command or option, missing argument)
  3    no agent answers at the URL (or it did not answer in time)
  4    not found (no such job, version or file)
  5    invalid manifest, or its binary is missing or refused
  6    refused by the agent: token missing or wrong, or host name not allowed
  124  the job ran past the agent's time limit
  130  interrupted
  141  the reader of stdout went away (e.g. \`| head -1\`)`;
