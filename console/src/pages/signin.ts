import { ApiError, signIn } from "../api";
import { field, h, replace, status } from "../dom";

/** Sign in with a tenant id and an API key; GET /v1/me checks the key before anything is kept. */
export function renderSignIn(main: HTMLElement, done: () => void): void {
  const tenant = h("input", { name: "tenant", autocomplete: "username", required: true, spellcheck: "false" });
  const key = h("input", { name: "key", type: "password", autocomplete: "current-password", required: true, spellcheck: "false" });
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", {
    class: "card narrow",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      submit.disabled = true;
      replace(message);
      try {
        await signIn(tenant.value.trim(), key.value.trim());
        done();
      } catch (error) {
        const text = error instanceof ApiError && error.status === 401
          ? "The key was not accepted: check the key (and that it was not revoked)."
          : (error as Error).message;
        replace(message, status(text, "error"));
        submit.disabled = false;
      }
    },
  },
  field("Tenant id", tenant),
  field("API key", key, "A tenant admin key, or a modeller key for read-only access to its sessions. Kept in this tab only."),
  submit,
  message);
  replace(main, h("h1", {}, "Sign in"), form);
  tenant.focus();
}
