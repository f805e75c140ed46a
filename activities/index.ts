import { createLinkActivities, type LinkActivityDeps } from './links';

export type ActivityDeps = LinkActivityDeps;

/** All activities, wired to their dependencies (the worker passes production ones, tests a fresh schema). */
export function createActivities(deps: ActivityDeps) {
  return { ...createLinkActivities(deps) };
}
