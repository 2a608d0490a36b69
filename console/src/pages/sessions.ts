import { get, isAdmin, signedIn, tenantPath, type Session, type SessionPage, type SessionSummary } from "../api";
import { field, h, replace, status, table, time } from "../dom";
import { link } from "../main";

const kinds = ["secure-aggregation", "psi", "query", "training"];
const phases = ["active", "ended", "created", "key-exchange", "share-exchange", "masked-input", "unmasking", "awaiting-pod", "exchange", "answered", "running", "completed", "failed", "cancelled"];

function select(name: string, values: string[]): HTMLSelectElement {
  return h("select", { name }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v }, v)));
}

/** GET …/sessions with filters and cursor paging (newest first). */
export async function renderSessions(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const query = new URLSearchParams(location.search);
  const kind = select("kind", kinds);
  const phase = select("phase", phases);
  const modeller = h("input", { name: "modeller", spellcheck: "false" });
  const pod = h("input", { name: "pod", spellcheck: "false" });
  kind.value = query.get("kind") ?? "";
  phase.value = query.get("phase") ?? "";
  modeller.value = query.get("modeller") ?? "";
  pod.value = query.get("pod") ?? "";
  const results = h("div", { "aria-live": "polite" });
  const cursors: (string | null)[] = [null]; // cursors[i] opens page i

  async function load(page: number): Promise<void> {
    replace(results, status("Loading…"));
    const filters = { kind: kind.value, phase: phase.value, modeller: modeller.value, pod: pod.value };
    history.replaceState(null, "", "?" + new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString());
    const answer = await get<SessionPage | Session[]>(tenantPath("/sessions", { ...filters, limit: 25, cursor: cursors[page] }), signal);
    // Before the paged list shipped, the route answered a plain array; both are read.
    const items: SessionSummary[] = Array.isArray(answer) ? answer : answer.items;
    const next = Array.isArray(answer) ? null : answer.next;
    cursors[page + 1] = next;
    replace(results,
      table("Sessions, newest first", ["Session", "Kind", "Phase", "Modeller", "Pods", "Created", "Ended"], items.map((s) => [
        link(`/sessions/${encodeURIComponent(s.id)}`, s.id),
        s.kind,
        h("span", { class: `phase phase-${s.phase}` }, s.phase),
        s.modellerId,
        s.podIds.join(", "),
        time(s.createdAt),
        time(s.endedAt ?? null),
      ]), { testId: "sessions" }),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: page === 0, onclick: () => void load(page - 1).catch(fail) }, "Newer"),
        h("span", {}, `Page ${page + 1}`),
        h("button", { type: "button", disabled: !next, onclick: () => void load(page + 1).catch(fail) }, "Older")));
  }

  const fail = (e: unknown) => {
    if (!signal.aborted) replace(results, status((e as Error).message, "error"));
  };

  const form = h("form", {
    class: "filters",
    role: "search",
    "aria-label": "Filter sessions",
    onsubmit: (e: Event) => {
      e.preventDefault();
      cursors.length = 1;
      void load(0).catch(fail);
    },
  },
  field("Kind", kind), field("Phase", phase), isAdmin(signedIn()) ? field("Modeller", modeller) : null, field("Pod", pod),
  h("button", { type: "submit" }, "Filter"));
  replace(main, h("h1", {}, "Sessions"), form, results);
  await load(0).catch(fail);
}
