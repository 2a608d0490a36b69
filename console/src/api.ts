// The public REST API (/v1, same origin) with the signed-in key. The key lives in sessionStorage only: never in a
// cookie (the gateway reads none) nor in localStorage, so it is gone when the tab closes.

const storageKey = "smpc.console";

/** Who is signed in: the tenant, the key and what /v1/me said about it. */
export interface Signed {
  tenant: string;
  key: string;
  role: string;
  subject: string | null;
  keyId: string | null;
}

export function signedIn(): Signed | null {
  const raw = sessionStorage.getItem(storageKey);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Signed;
  } catch {
    sessionStorage.removeItem(storageKey);
    return null;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(storageKey);
}

export const isAdmin = (s: Signed | null): boolean => s?.role === "TenantAdmin";

/** An RFC 9457 problem the API answered with (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string | undefined, readonly type: string | undefined) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

async function send(key: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, credentials: "omit", cache: "no-store" });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, "The service could not be reached", String(e), undefined);
  }
  if (!response.ok) {
    let problem: { title?: string; detail?: string; type?: string } = {};
    try {
      problem = await response.json();
    } catch {
      // not a problem document
    }
    throw new ApiError(response.status, problem.title ?? `${response.status} ${response.statusText}`, problem.detail, problem.type);
  }
  return response;
}

/** Checks a key with GET /v1/me and remembers it for this tab. */
export async function signIn(tenant: string, key: string): Promise<Signed> {
  const me = (await (await send(key, "GET", "/v1/me")).json()) as WhoAmI;
  if (me.role !== "TenantAdmin" && me.role !== "Modeller") throw new ApiError(403, "This console is for tenant admins and modellers", `The key acts as ${me.role}.`, undefined);
  if (me.tenant !== tenant) throw new ApiError(404, "The key belongs to another tenant", `Check the tenant id.`, undefined);
  const signed: Signed = { tenant, key, role: me.role, subject: me.subject, keyId: me.keyId };
  sessionStorage.setItem(storageKey, JSON.stringify(signed));
  return signed;
}

function current(): Signed {
  const s = signedIn();
  if (!s) throw new ApiError(401, "Signed out", "Sign in again.", undefined);
  return s;
}

/** A path under the signed-in tenant, with the query's non-empty values. */
export function tenantPath(suffix: string, query: Record<string, string | number | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== null && value !== undefined && String(value).trim() !== "") params.set(name, String(value).trim());
  const search = params.toString();
  return `/v1/tenants/${encodeURIComponent(current().tenant)}${suffix}${search ? "?" + search : ""}`;
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await send(current().key, "GET", path, undefined, signal)).json()) as T;
}

export async function post<T>(path: string, body?: unknown): Promise<T> {
  const response = await send(current().key, "POST", path, body ?? {});
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export async function del<T>(path: string): Promise<T | undefined> {
  const response = await send(current().key, "DELETE", path);
  return response.status === 204 ? undefined : ((await response.json()) as T);
}

/** Downloads a route's body as a file (the audit export), through the same authorised request. */
export async function download(path: string, fileName: string): Promise<number> {
  const blob = await (await send(current().key, "GET", path)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

// The response shapes the console reads (camelCase, as the API writes them).
export interface WhoAmI { role: string; tenant: string | null; subject: string | null; keyId: string | null }
export interface Tenant { id: string; displayName: string; createdAt: string; podCount: number; modellerCount: number }
export interface Member { tenant: string; id: string; displayName: string; registeredAt: string; identityPublicKey?: string | null; identityFingerprint?: string | null }
export interface Credential { keyId: string; role: string; tenant: string; subject: string | null; createdAt: string; revokedAt: string | null }
export interface IssuedKey { keyId: string; apiKey: string; role: string }
export interface AggregationPod { pod: string; party: number; status: string; declineCategory?: string | null }
export interface Aggregation {
  threshold: number; operation: string; input: string; phaseDeadline: string | null; keyBundles: number[]; shareSenders: number[];
  maskedInputs: number[]; unmaskResponses: number[]; dropped: number[]; included: number[] | null; failureReason: string | null; pods?: AggregationPod[] | null;
}
export interface Cancellation { role: string; by: string | null; reason: string | null; at: string }
export interface Session {
  tenant: string; id: string; modellerId: string; kind: string; podIds: string[]; phase: string; createdAt: string; version: number;
  aggregation?: Aggregation | null; psi?: Record<string, unknown> | null; federated?: Record<string, unknown> | null; parent?: string | null;
  cancellation?: Cancellation | null;
}
export interface SessionSummary {
  tenant: string; id: string; kind: string; phase: string; modellerId: string; podIds: string[]; createdAt: string; updatedAt?: string;
  endedAt?: string | null; version: number; parent?: string | null;
}
export interface SessionPage { items: SessionSummary[]; next: string | null }
export interface AuditEntry {
  sequence: number; time: string; type: string; actor: { role: string; subject: string | null; keyId: string | null }; session: string | null;
  pods: string[]; modeller: string | null; keyId: string | null; traceId: string | null; detail: string | null;
}
export interface AuditPage { entries: AuditEntry[]; next: number | null; head: number }
export interface Usage {
  tenant: string; day: string; sessionsRunning: number; maxConcurrentSessions: number | null; payloadBytes: number; payloadBytesPerDay: number | null;
  psiElements: number; psiElementsPerDay: number | null; requestsPerSecond: number | null; burst: number | null;
}
export interface Webhook { id: string; url: string; eventTypes: string[]; description: string | null; createdAt: string; disabled: boolean; secret?: string | null }
export interface Delivery {
  id: string; eventType: string; session: string | null; occurredAt: string; status: string; attempts: number; lastAttemptAt: string | null;
  lastStatusCode: number | null; lastError: string | null; nextAttemptAt: string | null; deliveredAt: string | null;
}
export interface DeliveryPage { items: Delivery[]; next: string | null }

/** Phases after which a session never changes again. */
export const endedPhases = ["completed", "failed", "cancelled"];
