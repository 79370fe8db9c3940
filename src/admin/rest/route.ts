import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../app/actor';

/** How API routes are declared: a table of these, registered behind the bearer-token hook. */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below /api/v1, fastify syntax (`/devices/:mac`). */
  url: string;
  /** Metric label (papgate_admin_actions_total{action}); set on every mutating route. */
  action?: string;
  /** Success status (default 200; 204 sends no body). */
  status?: number;
  /** Bytes accepted in the body (default: the server's JSON limit). */
  bodyLimit?: number;
  /** Returns the JSON answer (ignored for 204); may set headers on `reply`. */
  handler(req: FastifyRequest, actor: Actor, reply: FastifyReply): Promise<unknown>;
}

const actors = new WeakMap<FastifyRequest, Actor>();

export function setActor(req: FastifyRequest, actor: Actor): void {
  actors.set(req, actor);
}

/** The authenticated actor (the hook ran before any handler). */
export function actorOf(req: FastifyRequest): Actor {
  const a = actors.get(req);
  if (!a) throw new Error('route reached without authentication');
  return a;
}

/** The metric label of the route `req` matched, if it mutates. */
export function actionOf(req: FastifyRequest): string | undefined {
  return (req.routeOptions.config as { action?: string } | undefined)?.action;
}

export function registerRoutes(app: FastifyInstance, routes: readonly ApiRoute[]): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      config: { action: r.action } as object,
      ...(r.bodyLimit !== undefined ? { bodyLimit: r.bodyLimit } : {}),
      handler: async (req, reply) => {
        const result = await r.handler(req, actorOf(req), reply);
        const status = r.status ?? 200;
        reply.code(status);
        return status === 204 ? reply.send() : result;
      },
    });
  }
}

/** A path parameter (fastify has already URL-decoded it). */
export function param(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
}
