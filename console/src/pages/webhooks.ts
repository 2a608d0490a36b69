import { ApiError, del, get, post, tenantPath, type Delivery, type DeliveryPage, type Webhook } from "../api";
import { confirmDialog, field, h, replace, secretBox, status, table, time } from "../dom";
import { link } from "../main";

const eventTypes = ["session.created", "session.phase-changed", "session.pod-joined", "session.pod-declined", "session.completed", "session.failed",
  "session.cancelled", "quota.reached", "key.revoked"];

/** Webhook endpoints: list, create (the signing secret shown once), delete. */
export async function renderWebhooks(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const notice = h("div", { "aria-live": "polite", "data-testid": "notice" });
  const list = h("div");
  const url = h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/hooks/smpc", spellcheck: "false" });
  const description = h("input", { name: "description", maxlength: 200 });
  const boxes = eventTypes.map((t) => h("input", { type: "checkbox", name: "eventTypes", value: t, id: `event-${t}` }));
  const form = h("form", {
    class: "card",
    "aria-labelledby": "new-webhook",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const created = await post<Webhook>(tenantPath("/webhooks"), {
          url: url.value.trim(),
          eventTypes: boxes.filter((b) => b.checked).map((b) => b.value),
          description: description.value.trim() || undefined,
        });
        replace(notice, secretBox(`Signing secret of ${created.url}`, created.secret ?? "",
          "Verify each delivery's webhook-signature with it (Standard Webhooks). It is shown only now."));
        form.reset();
        await load();
      } catch (error) {
        replace(notice, status(error instanceof ApiError ? error.message : String(error), "error"));
      }
    },
  },
  h("h2", { id: "new-webhook" }, "Add an endpoint"),
  field("URL", url, "https; plain http only to a loopback address of an embedded service"),
  field("Description (optional)", description),
  h("fieldset", {}, h("legend", {}, "Events (none checked: all)"),
    h("div", { class: "checks" }, boxes.map((b) => h("div", {}, b, h("label", { for: b.id }, b.value))))),
  h("button", { type: "submit" }, "Add endpoint"));

  async function load(): Promise<void> {
    try {
      const hooks = await get<Webhook[]>(tenantPath("/webhooks"), signal);
      replace(list, table("Endpoints", ["Endpoint", "Events", "Description", "Created", "State", "Actions"], hooks.map((w) => [
        link(`/webhooks/${encodeURIComponent(w.id)}`, w.url),
        w.eventTypes.length ? w.eventTypes.join(", ") : "all",
        w.description ?? "",
        time(w.createdAt),
        w.disabled ? "disabled" : "enabled",
        h("button", { type: "button", class: "danger", "aria-label": `Delete endpoint ${w.url}`, onclick: () => void remove(w) }, "Delete"),
      ]), { testId: "webhooks" }));
    } catch (e) {
      if (!signal.aborted) replace(list, status(`Webhooks unavailable: ${(e as Error).message}`, "error"));
    }
  }

  async function remove(w: Webhook): Promise<void> {
    if (!(await confirmDialog("Delete this endpoint?", `${w.url} receives no more events.`, "Delete"))) return;
    try {
      await del(tenantPath(`/webhooks/${encodeURIComponent(w.id)}`));
      replace(notice, status("Endpoint deleted.", "ok"));
      await load();
    } catch (e) {
      replace(notice, status((e as Error).message, "error"));
    }
  }

  replace(main, h("h1", {}, "Webhooks"), notice, list, form);
  await load();
}

/** One endpoint's delivery log (newest first, cursor paging) with redeliver. */
export async function renderWebhook(main: HTMLElement, [id]: string[], signal: AbortSignal): Promise<void> {
  const notice = h("div", { "aria-live": "polite" });
  const results = h("div");
  const hook = await get<Webhook>(tenantPath(`/webhooks/${encodeURIComponent(id)}`), signal);
  replace(main, h("p", {}, link("/webhooks", "← Webhooks")), h("h1", {}, `Webhook ${hook.url}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Id"), h("dd", {}, hook.id),
      h("dt", {}, "Events"), h("dd", {}, hook.eventTypes.length ? hook.eventTypes.join(", ") : "all"),
      h("dt", {}, "Created"), h("dd", {}, time(hook.createdAt))),
    notice, results);
  const cursors: (string | null)[] = [null];

  async function load(page: number): Promise<void> {
    const answer = await get<DeliveryPage>(tenantPath(`/webhooks/${encodeURIComponent(id)}/deliveries`, { limit: 50, cursor: cursors[page] }), signal);
    cursors[page + 1] = answer.next;
    replace(results,
      table("Deliveries, newest first", ["Message", "Event", "Session", "Occurred", "Status", "Attempts", "Last attempt", "Last answer", "Next attempt", ""],
        answer.items.map((d) => [
          h("code", {}, d.id), d.eventType, d.session ? link(`/sessions/${encodeURIComponent(d.session)}`, d.session) : "", time(d.occurredAt),
          h("span", { class: `delivery-${d.status}` }, d.status), String(d.attempts), time(d.lastAttemptAt),
          [d.lastStatusCode ? String(d.lastStatusCode) : "", d.lastError ?? ""].filter(Boolean).join(" "), time(d.nextAttemptAt),
          h("button", { type: "button", "aria-label": `Redeliver ${d.id}`, onclick: () => void redeliver(d, page) }, "Redeliver"),
        ]), { testId: "deliveries" }),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: page === 0, onclick: () => void load(page - 1).catch(fail) }, "Newer"),
        h("span", {}, `Page ${page + 1}`),
        h("button", { type: "button", disabled: !answer.next, onclick: () => void load(page + 1).catch(fail) }, "Older")));
  }

  async function redeliver(d: Delivery, page: number): Promise<void> {
    try {
      await post<Delivery>(tenantPath(`/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`));
      replace(notice, status(`${d.id} queued again.`, "ok"));
      await load(page);
    } catch (e) {
      replace(notice, status((e as Error).message, "error"));
    }
  }

  const fail = (e: unknown) => {
    if (!signal.aborted) replace(results, status((e as Error).message, "error"));
  };
  await load(0).catch(fail);
}
