import { download, get, signedIn, tenantPath, type AuditPage } from "../api";
import { field, h, replace, status, table, time } from "../dom";
import { link } from "../main";

const types = ["tenant.*", "credential.*", "pod.*", "modeller.*", "session.*", "psi.*", "policy.*", "quota.*",
  "tenant.created", "tenant.limits-changed", "credential.issued", "credential.revoked", "credential.revocation-scheduled", "pod.registered",
  "pod.identity-changed", "modeller.registered", "session.created", "session.joined", "session.phase-changed", "session.completed", "session.failed", "session.cancelled",
  "psi.count-reported", "policy.declined", "quota.reached"];

/** The datetime-local value as RFC 3339 (the browser's zone), or empty. */
function instant(input: HTMLInputElement): string {
  return input.value ? new Date(input.value).toISOString() : "";
}

/** GET …/audit with filters, page by page (oldest first), and the same filters exported as JSON lines. */
export async function renderAudit(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const type = h("input", { name: "type", list: "audit-types", spellcheck: "false" });
  const session = h("input", { name: "session", spellcheck: "false" });
  const actor = h("input", { name: "actor", spellcheck: "false" });
  const since = h("input", { name: "since", type: "datetime-local", step: 1 });
  const until = h("input", { name: "until", type: "datetime-local", step: 1 });
  const results = h("div", { "aria-live": "polite" });
  const message = h("div", { "aria-live": "polite" });
  const starts: number[] = [0]; // starts[i]: the `after` that opens page i

  const filters = () => ({ type: type.value, session: session.value, actor: actor.value, since: instant(since), until: instant(until) });

  async function load(page: number): Promise<void> {
    replace(results, status("Loading…"));
    const answer = await get<AuditPage>(tenantPath("/audit", { ...filters(), after: starts[page] || null, limit: 50 }), signal);
    if (answer.next !== null) starts[page + 1] = answer.next;
    replace(results,
      table(`Audit entries (log head ${answer.head})`, ["#", "Time", "Event", "Actor", "Session", "Pods", "Key", "Detail"], answer.entries.map((e) => [
        String(e.sequence), time(e.time), e.type,
        [e.actor.role, e.actor.subject, e.actor.keyId ? `key ${e.actor.keyId}` : null].filter(Boolean).join(" "),
        e.session ? link(`/sessions/${encodeURIComponent(e.session)}`, e.session) : "",
        e.pods.join(", "), e.keyId ?? "", e.detail ?? "",
      ]), { testId: "audit" }),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: page === 0, onclick: () => void load(page - 1).catch(fail) }, "Previous"),
        h("span", {}, `Page ${page + 1}`),
        h("button", { type: "button", disabled: answer.next === null, onclick: () => void load(page + 1).catch(fail) }, "Next")));
  }

  const fail = (e: unknown) => {
    if (!signal.aborted) replace(results, status((e as Error).message, "error"));
  };

  const form = h("form", {
    class: "filters",
    role: "search",
    "aria-label": "Filter the audit log",
    onsubmit: (e: Event) => {
      e.preventDefault();
      starts.length = 1;
      void load(0).catch(fail);
    },
  },
  field("Event type", type, "Exact, or a family such as session.*"),
  h("datalist", { id: "audit-types" }, types.map((t) => h("option", { value: t }))),
  field("Session", session), field("Actor", actor, "A role, subject id or key id"),
  field("Since", since), field("Until", until),
  h("button", { type: "submit" }, "Filter"),
  h("button", {
    type: "button",
    onclick: async () => {
      replace(message, status("Exporting…"));
      try {
        const bytes = await download(tenantPath("/audit/export", filters()), `audit-${signedIn()!.tenant}.jsonl`);
        replace(message, status(`Exported ${bytes} bytes as JSON lines.`, "ok"));
      } catch (e) {
        replace(message, status((e as Error).message, "error"));
      }
    },
  }, "Export"));
  replace(main, h("h1", {}, "Audit log"), form, message, results);
  await load(0).catch(fail);
}
