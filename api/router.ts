import { Router } from 'express';

/**
 * Every admin router: case-sensitive paths, so `/V1/MdMsErVeRs` is a 404 and not a second name
 * (and a second /metrics series) of `/v1/mdmServers`. The app sets the same for its own routes.
 */
export function apiRouter(): Router {
  return Router({ caseSensitive: true });
}
