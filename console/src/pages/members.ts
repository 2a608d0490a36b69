import { ApiError, del, get, post, signedIn, tenantPath, type Credential, type IssuedKey, type Member } from "../api";
import { confirmDialog, field, h, replace, secretBox, status, table, time } from "../dom";

type Owner = { kind: "pod" | "modeller" | "admin"; id: string; label: string; keysPath: string; issuePath: string };

/** Pods, modellers and admins with their keys: issue, revoke, rotate (issue a new key, revoke the old one after an overlap). */
export async function renderMembers(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const notice = h("div", { "aria-live": "polite", "data-testid": "notice" });
  const content = h("div");
  replace(main, h("h1", {}, "Members and keys"), notice, content);

  const [podIds, modellerIds] = await Promise.all([get<string[]>(tenantPath("/pods"), signal), get<string[]>(tenantPath("/modellers"), signal)]);
  const [pods, modellers] = await Promise.all([
    Promise.all(podIds.map((id) => get<Member>(tenantPath(`/pods/${encodeURIComponent(id)}`), signal))),
    Promise.all(modellerIds.map((id) => get<Member>(tenantPath(`/modellers/${encodeURIComponent(id)}`), signal))),
  ]);

  const owners: Owner[] = [
    { kind: "admin", id: "admins", label: "Tenant admins", keysPath: "/admin-keys", issuePath: "/admin-keys" },
    ...modellers.map((m): Owner => ({ kind: "modeller", id: m.id, label: `Modeller ${m.id}`, keysPath: `/modellers/${encodeURIComponent(m.id)}/keys`, issuePath: `/modellers/${encodeURIComponent(m.id)}/keys` })),
    ...pods.map((p): Owner => ({ kind: "pod", id: p.id, label: `Pod ${p.id}`, keysPath: `/pods/${encodeURIComponent(p.id)}/keys`, issuePath: `/pods/${encodeURIComponent(p.id)}/keys` })),
  ];

  const memberTable = (caption: string, members: Member[], testId: string) =>
    table(caption, ["Id", "Display name", "Registered", "Identity fingerprint"],
      members.map((m) => [m.id, m.displayName, time(m.registeredAt), m.identityFingerprint ? h("code", {}, m.identityFingerprint) : "none registered"]), { testId });

  const keySections = owners.map((owner) => keySection(owner));
  replace(content,
    memberTable("Pods", pods, "pods"),
    memberTable("Modellers", modellers, "modellers"),
    h("h2", {}, "Keys"),
    h("p", {}, "Rotate issues a new key (shown once) and revokes the old one after the overlap you choose, so running agents can switch over."),
    keySections.map((s) => s.element));
  await Promise.all(keySections.map((s) => s.load()));

  function keySection(owner: Owner): { element: HTMLElement; load: () => Promise<void> } {
    const headingId = `keys-${owner.kind}-${owner.id}`;
    const list = h("div");
    const element = h("section", { class: "card", "aria-labelledby": headingId, "data-testid": `keys-${owner.kind}-${owner.id}` },
      h("h3", { id: headingId }, owner.label),
      list,
      h("button", { type: "button", onclick: () => void issue() }, "Issue a key"));

    async function load(): Promise<void> {
      try {
        const keys = await get<Credential[]>(tenantPath(owner.keysPath), signal);
        replace(list, table(`Keys of ${owner.label.toLowerCase()}`, ["Key id", "Created", "Revoked", "Actions"], keys.map((k) => [
          h("code", {}, k.keyId),
          time(k.createdAt),
          k.revokedAt ? [time(k.revokedAt), new Date(k.revokedAt) > new Date() ? " (scheduled)" : ""] : "—",
          actions(k),
        ])));
      } catch (e) {
        if (!signal.aborted) replace(list, status(`Keys unavailable: ${(e as Error).message}`, "error"));
      }
    }

    function actions(k: Credential): HTMLElement | string {
      if (k.revokedAt && new Date(k.revokedAt) <= new Date()) return "";
      const hours = h("input", { type: "number", min: 0, max: 720, step: 1, value: 24, name: "overlap", class: "short" });
      const self = k.keyId === signedIn()?.keyId;
      return h("div", { class: "key-actions" },
        h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${k.keyId}`, onclick: () => void revoke(k, self) }, "Revoke"),
        h("form", {
          class: "inline",
          onsubmit: (e: Event) => {
            e.preventDefault();
            void rotate(k, Number(hours.value));
          },
        }, field("Overlap (hours)", hours), h("button", { type: "submit", "aria-label": `Rotate key ${k.keyId}` }, "Rotate")));
    }

    async function issue(): Promise<IssuedKey | null> {
      try {
        const issued = await post<IssuedKey>(tenantPath(owner.issuePath));
        replace(notice, secretBox(`New key for ${owner.label.toLowerCase()}`, issued.apiKey,
          `Key id ${issued.keyId}. Copy it now: the service keeps only its hash, so it is never shown again.`));
        await load();
        return issued;
      } catch (e) {
        replace(notice, status((e as Error).message, "error"));
        return null;
      }
    }

    async function revoke(k: Credential, self: boolean): Promise<void> {
      const warning = self ? " This is the key you are signed in with: the console stops working." : "";
      if (!(await confirmDialog(`Revoke key ${k.keyId}?`, `It stops working at once on every gateway.${warning}`, "Revoke"))) return;
      try {
        await del<Credential>(tenantPath(`/keys/${k.keyId}`));
        replace(notice, status(`Key ${k.keyId} revoked.`, "ok"));
        await load();
      } catch (e) {
        replace(notice, status(e instanceof ApiError ? e.message : String(e), "error"));
      }
    }

    async function rotate(k: Credential, hours: number): Promise<void> {
      if (!Number.isFinite(hours) || hours < 0 || hours > 720) {
        replace(notice, status("The overlap is 0 to 720 hours.", "error"));
        return;
      }
      if (!(await confirmDialog(`Rotate key ${k.keyId}?`, `A new key is issued now; the old one stops working in ${hours} hours.`, "Rotate"))) return;
      const issued = await issue();
      if (!issued) return;
      try {
        const old = await del<Credential>(tenantPath(`/keys/${k.keyId}`, { afterSeconds: Math.round(hours * 3600) }));
        notice.append(status(`Old key ${k.keyId} is revoked ${old?.revokedAt ? "at " + new Date(old.revokedAt).toLocaleString() : "as scheduled"}.`, "ok"));
        await load();
      } catch (e) {
        notice.append(status(`The new key was issued, but the old key's revocation failed: ${(e as Error).message}`, "error"));
      }
    }

    return { element, load };
  }
}
