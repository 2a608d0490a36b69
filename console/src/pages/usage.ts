import { get, tenantPath, type Tenant, type Usage } from "../api";
import { h, replace, status, time } from "../dom";

const count = (n: number | null | undefined) => (n === null || n === undefined ? "no limit" : n.toLocaleString());

function meter(label: string, used: number, limit: number | null): HTMLElement {
  const share = limit ? Math.min(1, used / limit) : 0;
  return h("div", { class: "meter-row" },
    h("span", {}, label),
    limit ? h("meter", { min: 0, max: limit, value: used, low: limit * 0.7, high: limit * 0.9, optimum: 0, "aria-label": label }) : null,
    h("span", {}, `${used.toLocaleString()} of ${count(limit)}${limit ? ` (${Math.round(share * 100)}%)` : ""}`));
}

/** The tenant and its quotas in force, with today's usage (GET …/usage). */
export async function renderUsage(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const body = h("div", { "aria-live": "polite" });
  replace(main, h("h1", {}, "Quotas and usage"), body);
  const tenant = await get<Tenant>(tenantPath(""), signal);
  const tenantFacts = h("dl", { class: "facts" },
    h("dt", {}, "Tenant"), h("dd", {}, `${tenant.displayName} (${tenant.id})`),
    h("dt", {}, "Created"), h("dd", {}, time(tenant.createdAt)),
    h("dt", {}, "Pods"), h("dd", {}, String(tenant.podCount)),
    h("dt", {}, "Modellers"), h("dd", {}, String(tenant.modellerCount)));
  try {
    const u = await get<Usage>(tenantPath("/usage"), signal);
    replace(body, tenantFacts,
      h("h2", {}, `Usage on ${u.day} (UTC)`),
      h("div", { class: "card", "data-testid": "usage" },
        meter("Sessions running", u.sessionsRunning, u.maxConcurrentSessions),
        meter("Payload bytes today", u.payloadBytes, u.payloadBytesPerDay),
        meter("PSI elements today", u.psiElements, u.psiElementsPerDay)),
      h("h2", {}, "Request rate"),
      h("p", {}, `${count(u.requestsPerSecond)} requests per second per key, bursts of ${count(u.burst)}.`));
  } catch (e) {
    if (!signal.aborted) replace(body, tenantFacts, status(`Usage unavailable: ${(e as Error).message}`, "error"));
  }
}
