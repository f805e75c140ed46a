/**
 * End-to-end onboarding through HTTP — create → certificate → token download → `GET /session` →
 * ACTIVE — against the real service and against the ceiling (bench/ceiling.ts: the real workflow on
 * no-op activities), from this process, which is not the service's. The client does the same work for both (decrypts
 * a token, signs OAuth); that work is the MDM's and is left out of the step timings.
 *
 * ACTIVE is the link as the admin API shows it: its row in the service's database, written by the
 * workflow's installation activity (on the ceiling: its no-op recordInstallation having run). Both
 * are polled with one request per tick for every link in flight, over the bench's IPC channel to the
 * api process (one indexed query) and to the ceiling worker (a set lookup), so watching adds almost
 * no load (polling the API over HTTP at 32 links in flight would). Resolution: the tick (5 ms) plus
 * the round trip. When Temporal visibility (the DmsLinkState search attribute, what an operator's
 * Temporal UI shows) catches up is measured too, apart, without holding the onboarding.
 */
import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { linkWorkflowId } from '../workflows/link-types';
import type { BenchOrg } from './protocol';
import type { TokenMessage } from '../domain/service-token';
import { decryptServiceToken, depSessionAuthorization } from './mdm-client';
import { distribution, pool, ratio, sleep, type Distribution } from './util';

export const STEPS = ['create', 'certificate', 'token', 'session', 'activation', 'total'] as const;
export type Step = (typeof STEPS)[number];

export interface LevelResult {
  concurrency: number;
  links: number;
  failures: number;
  firstFailure?: string;
  seconds: number;
  linksPerSecond: number;
  steps: Record<Step, Distribution>;
  /** From the session's answer until Temporal visibility showed the link ACTIVE (not a step: nothing waits for it). */
  visibleInTemporal: Distribution;
}

export interface OnboardingTarget {
  name: 'service' | 'ceiling';
  /** Admin API origin (POST /v1/mdmServers …). */
  baseUrl: string;
  /** MDM-facing origin (GET /session). */
  mdmUrl: string;
  /** Real service: one organization per 200 links (Apple's 250-certificate limit); ceiling: unused. */
  orgs: BenchOrg[];
  /** Sees a link ACTIVE: the admin API's database (service), the no-op installation having run (ceiling). */
  installed: ActivationWatcher;
}

export interface MdmSide {
  /** One per link in turn, each with the key that decrypts the tokens issued to it. */
  certificates: Array<{ pem: string; privateKey: KeyObject }>;
  /** Decrypts sampleP7m. */
  privateKey: KeyObject;
  /** A real token for the ceiling's client to decrypt, so both clients do the same work. */
  sampleP7m: Buffer;
}

/** An installed link and the secrets of its token, as the MDM service holds them. */
export interface InstalledLink {
  linkId: string;
  secrets: TokenMessage;
}

const LINKS_PER_ORG = 200;
const ACTIVATION_DEADLINE_MS = 30_000;

class StepError extends Error {}

async function expectStatus(res: Response, status: number, step: string): Promise<void> {
  if (res.status !== status) {
    const body = (await res.text()).slice(0, 300);
    throw new StepError(`${step}: HTTP ${res.status} ${body}`);
  }
}

interface Timings {
  create: number;
  certificate: number;
  token: number;
  session: number;
  activation: number;
}

/** Of the given ids, those that are ACTIVE now (one request for all of them). */
export type ActiveProbe = (ids: string[]) => Promise<Iterable<string>>;

/** Temporal visibility: workflow ids whose DmsLinkState search attribute is ACTIVE, 50 per list query. */
export function visibilityProbe(client: Client): ActiveProbe {
  return async (ids) => {
    const active: string[] = [];
    for (let i = 0; i < ids.length; i += 50) {
      const list = ids.slice(i, i + 50).map((id) => `"${id}"`).join(', ');
      for await (const wf of client.workflow.list({ query: `DmsLinkState = "ACTIVE" AND WorkflowId IN (${list})` })) active.push(wf.workflowId);
    }
    return active;
  };
}

/** Resolves, per id, when the probe says it is ACTIVE. One probe per tick for all of them. */
export class ActivationWatcher {
  private readonly waiting = new Map<string, { resolve: (at: number) => void; reject: (e: Error) => void; deadline: number }>();
  private running = false;

  constructor(
    private readonly probe: ActiveProbe,
    private readonly tickMs = 5,
  ) {}

  wait(workflowId: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.set(workflowId, { resolve, reject, deadline: Date.now() + timeoutMs });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.size > 0) {
        for (const id of await this.probe([...this.waiting.keys()])) {
          const waiter = this.waiting.get(id);
          this.waiting.delete(id);
          waiter?.resolve(performance.now());
        }
        const now = Date.now();
        for (const [id, waiter] of this.waiting) {
          if (now > waiter.deadline) {
            this.waiting.delete(id);
            waiter.reject(new StepError(`activation: ${id} not ACTIVE within ${ACTIVATION_DEADLINE_MS} ms`));
          }
        }
        await sleep(this.tickMs);
      }
    } catch (err) {
      for (const waiter of this.waiting.values()) waiter.reject(err instanceof Error ? err : new Error(String(err)));
      this.waiting.clear();
    } finally {
      this.running = false;
    }
  }
}

export class OnboardingDriver {
  private slot = 0;

  constructor(
    private readonly mdm: MdmSide,
    /** Temporal visibility, for the visibleInTemporal figure (workflow ids). */
    private readonly visible: ActivationWatcher,
  ) {}

  /** Visibility waits of the level running now: ms after the session's answer, null when it never showed. */
  private visibility: Array<Promise<number | null>> = [];

  /** One link, start to ACTIVE; returns the step timings in ms. */
  private async onboardOne(target: OnboardingTarget): Promise<Timings> {
    return (await this.onboard(target)).timings;
  }

  /** Links onboarded and installed on the real service, with their secrets (the MDM-facing load). */
  async installedLinks(target: OnboardingTarget, count: number): Promise<InstalledLink[]> {
    const out: InstalledLink[] = [];
    for (let i = 0; i < count; i++) {
      const { linkId, secrets } = await this.onboard(target);
      out.push({ linkId, secrets });
    }
    return out;
  }

  private async onboard(target: OnboardingTarget): Promise<{ timings: Timings; linkId: string; secrets: TokenMessage }> {
    const real = target.name === 'service';
    const slot = this.slot++;
    const org = target.orgs[Math.floor(slot / LINKS_PER_ORG)];
    if (real && !org) throw new Error(`no organization for link ${slot}: create more`);
    const auth: Record<string, string> = real && org ? { authorization: `Bearer ${org.apiKey}` } : {};
    const certificate = this.mdm.certificates[slot % this.mdm.certificates.length];
    if (!certificate) throw new Error('no MDM certificate');
    const pem = certificate.pem;
    const name = `Onboard ${slot} ${randomUUID().slice(0, 8)}`;
    const base = target.baseUrl;
    const t: Timings = { create: 0, certificate: 0, token: 0, session: 0, activation: 0 };
    let mark = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const ms = now - mark;
      mark = now;
      return ms;
    };

    const created = await fetch(`${base}/v1/mdmServers`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { type: 'mdmServers', attributes: { serverName: name } } }),
    });
    await expectStatus(created, 201, 'create');
    const linkId = ((await created.json()) as { data: { id: string } }).data.id;
    t.create = lap();

    const uploaded = await fetch(`${base}/v1/mdmServers/${linkId}/publicKeyCertificate`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/x-pem-file' },
      body: pem,
    });
    await expectStatus(uploaded, 200, 'certificate');
    await uploaded.arrayBuffer();
    t.certificate = lap();

    const download = await fetch(`${base}/v1/mdmServers/${linkId}/serviceToken`, { method: 'POST', headers: auth });
    await expectStatus(download, 200, 'token');
    const p7m = Buffer.from(await download.arrayBuffer());
    const tokenId = download.headers.get('x-service-token-id') ?? '';
    t.token = lap();

    // The MDM's own work, not timed: decrypt the token and sign the session request.
    const secrets: TokenMessage = real ? decryptServiceToken(p7m, certificate.privateKey) : decryptServiceToken(this.mdm.sampleP7m, this.mdm.privateKey);
    const sessionUrl = `${target.mdmUrl}/session`;
    const authorization = depSessionAuthorization(sessionUrl, secrets);
    lap();

    const session = await fetch(sessionUrl, { headers: { authorization, ...(real ? {} : { 'x-bench-link': `${linkId}/${tokenId}` }) } });
    await expectStatus(session, 200, 'session');
    await session.arrayBuffer();
    t.session = lap();

    const answeredAt = mark;
    this.visibility.push(this.visible.wait(linkWorkflowId(linkId), ACTIVATION_DEADLINE_MS).then((at) => at - answeredAt, () => null));
    const activeAt = await target.installed.wait(linkId, ACTIVATION_DEADLINE_MS);
    t.activation = activeAt - mark;
    return { timings: t, linkId, secrets };
  }

  /** `count` onboardings with `concurrency` in flight; bounded by `timeLimitMs`. */
  async runLevel(target: OnboardingTarget, concurrency: number, count: number, timeLimitMs: number): Promise<LevelResult> {
    const samples: Timings[] = [];
    let failures = 0;
    let firstFailure: string | undefined;
    const started = performance.now();
    await pool(
      Array.from({ length: count }, (_, i) => i),
      concurrency,
      Date.now() + timeLimitMs,
      async () => {
        try {
          samples.push(await this.onboardOne(target));
        } catch (err) {
          failures++;
          firstFailure ??= err instanceof Error ? err.message : String(err);
        }
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const visible = (await Promise.all(this.visibility.splice(0))).filter((ms): ms is number => ms !== null);
    const pick = (f: (t: Timings) => number) => distribution(samples.map(f));
    return {
      concurrency,
      links: samples.length,
      failures,
      ...(firstFailure ? { firstFailure } : {}),
      seconds: Math.round(seconds * 100) / 100,
      linksPerSecond: Math.round((samples.length / seconds) * 100) / 100,
      steps: {
        create: pick((t) => t.create),
        certificate: pick((t) => t.certificate),
        token: pick((t) => t.token),
        session: pick((t) => t.session),
        activation: pick((t) => t.activation),
        total: pick((t) => t.create + t.certificate + t.token + t.session + t.activation),
      },
      visibleInTemporal: distribution(visible),
    };
  }
}

export interface OnboardingLevel {
  concurrency: number;
  service: LevelResult;
  ceiling: LevelResult;
  ratioToCeiling: number | null;
}

export function levelRatio(service: LevelResult, ceiling: LevelResult): number | null {
  return ratio(service.linksPerSecond, ceiling.linksPerSecond);
}
