import "./style.css";
import { isAdmin, signedIn, signOut } from "./api";
import { h, replace } from "./dom";
import { renderSignIn } from "./pages/signin";
import { renderSessions } from "./pages/sessions";
import { renderSession } from "./pages/session";
import { renderMembers } from "./pages/members";
import { renderAudit } from "./pages/audit";
import { renderUsage } from "./pages/usage";
import { renderWebhooks, renderWebhook } from "./pages/webhooks";

/** A page: draws into main; work it starts (long polls) stops when the signal aborts (the user navigated away). */
export type Page = (main: HTMLElement, params: string[], signal: AbortSignal) => void | Promise<void>;

const base = "/console";

interface Route { pattern: RegExp; page: Page; title: string; adminOnly: boolean }

const routes: Route[] = [
  { pattern: /^\/sessions\/?$/, page: renderSessions, title: "Sessions", adminOnly: false },
  { pattern: /^\/sessions\/([^/]+)$/, page: renderSession, title: "Session", adminOnly: false },
  { pattern: /^\/members\/?$/, page: renderMembers, title: "Members and keys", adminOnly: true },
  { pattern: /^\/audit\/?$/, page: renderAudit, title: "Audit log", adminOnly: true },
  { pattern: /^\/usage\/?$/, page: renderUsage, title: "Quotas and usage", adminOnly: true },
  { pattern: /^\/webhooks\/?$/, page: renderWebhooks, title: "Webhooks", adminOnly: true },
  { pattern: /^\/webhooks\/([^/]+)$/, page: renderWebhook, title: "Webhook", adminOnly: true },
];

const navigation: { path: string; label: string; adminOnly: boolean }[] = [
  { path: "/sessions", label: "Sessions", adminOnly: false },
  { path: "/members", label: "Members and keys", adminOnly: true },
  { path: "/audit", label: "Audit log", adminOnly: true },
  { path: "/usage", label: "Quotas and usage", adminOnly: true },
  { path: "/webhooks", label: "Webhooks", adminOnly: true },
];

let running: AbortController | null = null;

/** Client-side navigation: the gateway answers every /console/... path with index.html. */
export function navigate(path: string, replaceEntry = false): void {
  const url = base + path;
  if (replaceEntry) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void render();
}

/** A link that navigates without reloading (a real <a href>, so it opens in a new tab and works with the keyboard). */
export function link(path: string, label: string, attributes: Record<string, string> = {}): HTMLAnchorElement {
  return h("a", {
    ...attributes,
    href: base + path,
    onclick: (e: Event) => {
      const event = e as MouseEvent;
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(path);
    },
  }, label);
}

async function render(): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const app = document.getElementById("app")!;
  const path = location.pathname.startsWith(base) ? location.pathname.slice(base.length) || "/" : "/";
  const signed = signedIn();

  if (!signed) {
    if (path !== "/") history.replaceState(null, "", base + "/");
    document.title = "Sign in · Smpc console";
    const main = h("main", { id: "main", tabindex: -1 });
    replace(app, h("header", { class: "top" }, h("span", { class: "brand" }, "Smpc console")), main);
    await renderSignIn(main, () => navigate("/sessions", true));
    return;
  }

  const route = routes.find((r) => r.pattern.test(path) && (!r.adminOnly || isAdmin(signed)));
  if (!route) {
    navigate("/sessions", true);
    return;
  }

  const main = h("main", { id: "main", tabindex: -1 });
  const nav = h("nav", { "aria-label": "Console" },
    h("ul", {}, navigation.filter((n) => !n.adminOnly || isAdmin(signed)).map((n) => {
      const current = path === n.path || path.startsWith(n.path + "/");
      return h("li", {}, link(n.path, n.label, current ? { "aria-current": "page" } : {}));
    })));
  replace(app,
    h("header", { class: "top" },
      h("span", { class: "brand" }, "Smpc console"),
      h("span", { class: "who", "data-testid": "who" }, `${signed.tenant} · ${signed.role === "TenantAdmin" ? "tenant admin" : `modeller ${signed.subject}`}`),
      h("button", {
        type: "button",
        class: "link-button",
        onclick: () => {
          signOut();
          navigate("/", true);
        },
      }, "Sign out")),
    nav,
    main);
  document.title = `${route.title} · Smpc console`;
  const params = route.pattern.exec(path)!.slice(1).map(decodeURIComponent);
  try {
    await route.page(main, params, controller.signal);
  } catch (e) {
    if (!controller.signal.aborted) main.append(h("p", { class: "status error", role: "alert" }, String((e as Error).message ?? e)));
  }
  // Move focus to the new page for keyboard and screen-reader users (not on the first load).
  if (!firstRender && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  firstRender = false;
}

let firstRender = true;

window.addEventListener("popstate", () => void render());
void render();
