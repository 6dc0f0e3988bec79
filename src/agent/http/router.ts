/**
 * The route table of the agent API and a matcher for it. Paths are matched segment by segment
 * (no regular expressions, no URL object): this runs on every request, hot job runs included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** HEAD served by a GET handler: the handler may skip work that only produces the body. */
  head: boolean;
  /** `:name`, already decoded and checked to be a fully-qualified name. */
  name: string;
  /** `:version` of the path, else `?version=`, decoded and checked; undefined when absent. */
  version: string | undefined;
  /** True while this is the only request the agent is serving (it may then wait for a quick job in place). */
  alone: () => boolean;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface Route {
  /** e.g. `/v1/storage/manifests/:name/executable/:version` */
  pattern: string;
  handlers: Partial<Record<Method, Handler>>;
  /** Reads `?version=`; on other routes the query is ignored, whatever it holds. */
  versionQuery?: true;
}

export interface RouteMatch {
  route: Route;
  /** Raw (still percent-encoded) path parameters. */
  rawName: string | undefined;
  rawVersion: string | undefined;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
  allow: string;
}

export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: Route[]) {
    this.routes = routes.map((route) => ({ route, segments: route.pattern.split('/'), allow: allowedMethods(route) }));
  }

  match(pathname: string): (RouteMatch & { allow: string }) | undefined {
    const segments = pathname.split('/');
    for (const compiled of this.routes) {
      const match = matchSegments(compiled.segments, segments);
      if (match) return { route: compiled.route, allow: compiled.allow, ...match };
    }
    return undefined;
  }
}

/** The handler for `method`; HEAD falls back to GET (Node then sends the headers only). */
export function handlerFor(route: Route, method: string): { handler: Handler; head: boolean } | undefined {
  const own = route.handlers[method as Method];
  if (own) return { handler: own, head: method === 'HEAD' };
  if (method === 'HEAD' && route.handlers.GET) return { handler: route.handlers.GET, head: true };
  return undefined;
}

function allowedMethods(route: Route): string {
  const methods = Object.keys(route.handlers);
  if (route.handlers.GET && !route.handlers.HEAD) methods.push('HEAD');
  return methods.join(', ');
}

function matchSegments(pattern: string[], path: string[]): Pick<RouteMatch, 'rawName' | 'rawVersion'> | undefined {
  if (pattern.length !== path.length) return undefined;
  let rawName: string | undefined;
  let rawVersion: string | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i];
    if (expected === ':name') rawName = path[i];
    else if (expected === ':version') rawVersion = path[i];
    else if (expected !== path[i]) return undefined;
  }
  return { rawName, rawVersion };
}
