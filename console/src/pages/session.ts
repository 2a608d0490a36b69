import { ApiError, endedPhases, get, isAdmin, post, signedIn, tenantPath, type AuditPage, type Session } from "../api";
import { confirmDialog, field, h, replace, status, table, time } from "../dom";
import { link } from "../main";

const endTypes = ["session.completed", "session.failed", "session.cancelled"];

/** A session's page: its state, kept current by long polls (GET …/sessions/{id}?waitForVersion=v), and a cancel button. */
export async function renderSession(main: HTMLElement, [id]: string[], signal: AbortSignal): Promise<void> {
  const path = tenantPath(`/sessions/${encodeURIComponent(id)}`);
  const body = h("div");
  const live = h("p", { class: "live", role: "status", "data-testid": "live" });
  replace(main, h("p", {}, link("/sessions", "← Sessions")), h("h1", {}, `Session ${id}`), live, body);
  const seen: { phase: string; at: Date }[] = [];
  let timelineEnded = false;

  let session = await get<Session>(path, signal);
  for (;;) {
    if (seen.length === 0 || seen[seen.length - 1].phase !== session.phase) seen.push({ phase: session.phase, at: new Date() });
    await draw(session);
    if (endedPhases.includes(session.phase)) {
      live.textContent = `Ended: ${session.phase}.`;
      // The log records the end just after the session stores it: follow the timeline until its last entry is there.
      for (let attempt = 0; attempt < 10 && isAdmin(signedIn()) && !timelineEnded && !signal.aborted; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (!signal.aborted) await draw(session);
      }
      return;
    }
    live.textContent = `Live: watching for changes (version ${session.version}).`;
    try {
      session = await get<Session>(`${path}?waitForVersion=${session.version}&waitSeconds=20`, signal);
    } catch (e) {
      if (signal.aborted) return;
      live.textContent = `Updates paused: ${(e as Error).message}. Retrying…`;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      if (signal.aborted) return;
      session = await get<Session>(path, signal).catch(() => session);
    }
  }

  async function draw(s: Session): Promise<void> {
    const admin = isAdmin(signedIn());
    const mayCancel = !endedPhases.includes(s.phase) && (admin || signedIn()?.subject === s.modellerId);
    const a = s.aggregation;
    const podRows = a?.pods
      ? a.pods.map((p) => [p.pod, String(p.party), h("span", { class: `pod-${p.status}` }, p.status), p.declineCategory ?? ""])
      : s.podIds.map((p) => [p, "", "", ""]);
    const steps: [string, number[] | undefined][] = a
      ? [["Key bundles", a.keyBundles], ["Share senders", a.shareSenders], ["Masked inputs", a.maskedInputs], ["Unmask responses", a.unmaskResponses]]
      : [];
    const dropped = a?.dropped ?? [];
    const partyName = (party: number) => a?.pods?.find((p) => p.party === party)?.pod ?? `party ${party}`;

    let audit: HTMLElement | null = null;
    if (admin) {
      try {
        const page = await get<AuditPage>(tenantPath("/audit", { session: s.id, limit: 500 }), signal);
        timelineEnded = page.entries.some((e) => endTypes.includes(e.type));
        audit = table("Timeline (audit log)", ["Time", "Event", "Actor", "Detail"],
          page.entries.map((e) => [time(e.time), e.type, [e.actor.role, e.actor.subject].filter(Boolean).join(" "), e.detail ?? ""]), { testId: "timeline" });
      } catch (e) {
        if (signal.aborted) return;
        audit = status(`Timeline unavailable: ${(e as Error).message}`, "error");
      }
    }

    replace(body,
      h("dl", { class: "facts" },
        h("dt", {}, "Phase"), h("dd", { "data-testid": "phase", class: `phase phase-${s.phase}` }, s.phase),
        h("dt", {}, "Kind"), h("dd", {}, s.kind),
        h("dt", {}, "Modeller"), h("dd", {}, s.modellerId),
        h("dt", {}, "Created"), h("dd", {}, time(s.createdAt)),
        h("dt", {}, "Version"), h("dd", {}, String(s.version)),
        s.parent ? [h("dt", {}, "Round of"), h("dd", {}, link(`/sessions/${encodeURIComponent(s.parent)}`, s.parent))] : null,
        a ? [h("dt", {}, "Threshold"), h("dd", {}, String(a.threshold)), h("dt", {}, "Operation"), h("dd", {}, `${a.operation} of ${a.input}`),
          h("dt", {}, "Phase deadline"), h("dd", {}, time(a.phaseDeadline))] : null,
        a?.failureReason ? [h("dt", {}, "Failure"), h("dd", { "data-testid": "failure" }, a.failureReason)] : null,
        s.cancellation ? [h("dt", {}, "Cancelled"), h("dd", { "data-testid": "cancellation" },
          `by ${s.cancellation.role}${s.cancellation.by ? " " + s.cancellation.by : ""} at ${new Date(s.cancellation.at).toLocaleString()}${s.cancellation.reason ? `: ${s.cancellation.reason}` : ""}`)] : null),
      mayCancel ? cancelForm(s) : null,
      table("Pods", ["Pod", "Party", "Status", "Decline reason"], podRows, { testId: "pods" }),
      a ? table("Protocol steps (parties that acted)", ["Step", "Parties"], steps.map(([name, parties]) => [name, (parties ?? []).map(partyName).join(", ") || "—"])) : null,
      a ? h("section", { "aria-labelledby": "dropouts" }, h("h2", { id: "dropouts" }, "Dropouts"),
        dropped.length === 0 ? h("p", {}, "None.") : h("ul", { "data-testid": "dropouts" }, dropped.map((p) => h("li", {}, `${partyName(p)}: no answer before a phase closed`)))) : null,
      s.psi ? h("section", {}, h("h2", {}, "Private set intersection"), details(s.psi)) : null,
      s.federated ? h("section", {}, h("h2", {}, "Federated"), details(s.federated)) : null,
      table("Phases seen on this page", ["Phase", "Seen at"], seen.map((p) => [p.phase, time(p.at.toISOString())]), { testId: "phases-seen" }),
      audit);
  }

  function cancelForm(s: Session): HTMLElement {
    const reason = h("input", { name: "reason", maxlength: 500 });
    const message = h("div", { "aria-live": "polite" });
    return h("form", {
      class: "inline",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!(await confirmDialog("Cancel this session?", `Session ${s.id} ends at once; its pods stop.`, "Cancel session"))) return;
        try {
          await post<Session>(`${path}/cancel`, reason.value.trim() ? { reason: reason.value.trim() } : {});
          replace(message, status("Cancelled.", "ok"));
        } catch (error) {
          replace(message, status(error instanceof ApiError ? error.message : String(error), "error"));
        }
      },
    }, field("Reason (optional)", reason), h("button", { type: "submit", class: "danger" }, "Cancel session"), message);
  }
}

function details(value: Record<string, unknown>): HTMLElement {
  return h("dl", { class: "facts" }, Object.entries(value).filter(([, v]) => v !== null && typeof v !== "object").map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}
