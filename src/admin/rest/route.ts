import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Actor } from '../../app/actor';
import { zodValidatorCompiler } from './zod-validation';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of an /api/v1 route, set by the bearer-token hook before any handler runs. */
    adminActor: Actor | null;
  }
}

/** What a handler gets: the validated parts of the request and the authenticated actor. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: Actor;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * How API routes are declared: a table of these, registered behind the
 * bearer-token hook. The schemas are the HTTP contract: input is validated
 * with them and the OpenAPI document is generated from them.
 */
export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below /api/v1, fastify syntax (`/devices/:mac`). */
  url: string;
  /** One line for the OpenAPI document. */
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** A JSON body; routes taking CSV set `consumes` instead and check the text themselves. */
  body?: z.ZodType<B>;
  consumes?: 'text/csv';
  /** The success answer's shape (documentation and contract tests; answers are not serialised through it). */
  response?: z.ZodType;
  produces?: 'text/csv';
  /** Error statuses the route can answer, besides 401. */
  errors: readonly number[];
  /** Metric label (papgate_admin_actions_total{action}); set on every mutating route. */
  action?: string;
  /** Success status (default 200; 204 sends no body). */
  status?: number;
  /** Bytes accepted in the body (default: the server's JSON limit). */
  bodyLimit?: number;
  /** Returns the answer (ignored for 204); may set headers on `reply`. */
  handler(input: RouteInput<P, Q, B>): Promise<unknown>;
}

/** Declares a route with its handler typed by its schemas. */
export function route<P = unknown, Q = unknown, B = unknown>(r: ApiRoute<P, Q, B>): ApiRoute {
  return r as unknown as ApiRoute;
}

/** The authenticated actor (the hook ran before any handler). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.adminActor) throw new Error('route reached without authentication');
  return req.adminActor;
}

/** The metric label of the route `req` matched, if it mutates. */
export function actionOf(req: FastifyRequest): string | undefined {
  return (req.routeOptions.config as { action?: string } | undefined)?.action;
}

/** Registers the table in `app` (an encapsulated context: the validator compiler stays there). */
export function registerRoutes(app: FastifyInstance, routes: readonly ApiRoute[]): void {
  app.decorateRequest('adminActor', null);
  app.setValidatorCompiler(zodValidatorCompiler);
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      config: { action: r.action } as object,
      schema: { ...(r.params ? { params: r.params } : {}), ...(r.query ? { querystring: r.query } : {}), ...(r.body ? { body: r.body } : {}) },
      ...(r.bodyLimit !== undefined ? { bodyLimit: r.bodyLimit } : {}),
      handler: async (req, reply) => {
        const result = await r.handler({ params: req.params, query: req.query, body: req.body, actor: actorOf(req), request: req, reply });
        const status = r.status ?? 200;
        reply.code(status);
        return status === 204 ? reply.send() : result;
      },
    });
  }
}
