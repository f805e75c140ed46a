import type { Router } from 'express';
import type { Db } from '../db/client';
import { acceptTerms, findTerms, termsStatusOf, type TermsStatus } from '../db/terms';
import { isUuid } from '../domain/ids';
import { TERMS_ACCEPTING_ROLE } from '../domain/permissions';
import { principalOf } from './auth';
import { problem } from './problem';
import { apiRouter } from './router';


function termsResource(status: TermsStatus) {
  const { terms } = status;
  return {
    type: 'terms',
    id: terms.id,
    attributes: {
      version: terms.version,
      title: terms.title,
      url: terms.url,
      publishedDateTime: terms.publishedAt.toISOString(),
      accepted: status.acceptedAt !== null,
      acceptedDateTime: status.acceptedAt?.toISOString() ?? null,
      acceptedBy: status.acceptedByEmail,
    },
    links: { self: '/v1/terms', acceptance: `/v1/terms/${terms.id}/acceptance` },
  };
}

/**
 * `GET /v1/terms`: the current terms and whether the caller's organization accepted them (any
 * key; `data` is null when none were published). `POST /v1/terms/{id}/acceptance`: an
 * Administrator accepts them, and the organization's MDM services work again at once.
 */
export function termsRouter(deps: { db: Db }): Router {
  const router = apiRouter();

  router.get('/', async (req, res) => {
    const status = await termsStatusOf(deps.db, principalOf(req).orgId);
    res.json({ data: status ? termsResource(status) : null });
  });

  router.post('/:id/acceptance', async (req, res) => {
    const principal = principalOf(req);
    if (principal.role !== TERMS_ACCEPTING_ROLE) {
      throw problem('FORBIDDEN', 'Only an Administrator can accept the terms and conditions.');
    }
    const id = req.params.id;
    if (!isUuid(id) || !(await findTerms(deps.db, id))) throw problem('NOT_FOUND', 'No such terms version.');
    const status = await termsStatusOf(deps.db, principal.orgId);
    if (!status || status.terms.id !== id) {
      throw problem('CONFLICT', 'These terms were replaced by newer ones; accept the current terms (GET /v1/terms).');
    }
    const accepted = await acceptTerms(deps.db, { orgId: principal.orgId, termsId: id, userId: principal.userId });
    const after = await termsStatusOf(deps.db, principal.orgId);
    res.status(accepted.created ? 201 : 200).json({ data: termsResource(after ?? status) });
  });

  return router;
}
