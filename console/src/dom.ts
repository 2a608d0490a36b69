// A few lines of DOM building instead of a UI framework: the console is a thin client over the REST API.

type Child = Node | string | number | null | undefined | false | Child[];
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element: attributes (on* become listeners, false/null are left out) and children (text is escaped by the DOM). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value as EventListener);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled input (every input has a label: the console is keyboard- and screen-reader-operable). */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  input.id ||= "f-" + label.toLowerCase().replace(/[^a-z0-9]+/g, "-") + "-" + Math.random().toString(36).slice(2, 7);
  const hintId = hint ? input.id + "-hint" : undefined;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("small", { id: hintId! }, hint) : null);
}

/** A time as the browser's locale shows it, with the exact UTC value on hover. */
export function time(value: string | null | undefined): Node {
  if (!value) return document.createTextNode("—");
  const date = new Date(value);
  return h("time", { datetime: value, title: date.toISOString() }, date.toLocaleString());
}

/** A status line that screen readers announce. */
export function status(message: string, kind: "error" | "info" | "ok" = "info"): HTMLElement {
  return h("p", { class: `status ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

/** A plain table: a caption, column headers and rows. */
export function table(caption: string, headers: string[], rows: Child[][], options: { testId?: string } = {}): HTMLElement {
  return h("div", { class: "table-wrap" },
    h("table", { "data-testid": options.testId },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.length === 0
        ? h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "Nothing to show."))
        : rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}

/** Asks before a destructive action, with a native modal dialog (focus is trapped and Escape cancels). */
export function confirmDialog(title: string, message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-labelledby": "confirm-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, message),
        h("div", { class: "actions" },
          h("button", { value: "cancel", type: "submit" }, "Keep"),
          h("button", { value: "confirm", type: "submit", class: "danger" }, confirmLabel))));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/** A box that shows a secret once, with a copy button; the secret is never stored by the console. */
export function secretBox(title: string, secret: string, note: string): HTMLElement {
  const output = h("output", { class: "secret", "data-testid": "secret" }, secret);
  const copied = h("span", { role: "status", class: "copied" });
  return h("section", { class: "secret-box", "aria-label": title },
    h("h3", {}, title),
    h("p", {}, note),
    output, " ",
    h("button", {
      type: "button",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret);
          copied.textContent = "Copied.";
        } catch {
          const range = document.createRange();
          range.selectNodeContents(output);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
          copied.textContent = "Selected: press Ctrl+C to copy.";
        }
      },
    }, "Copy"),
    " ", copied);
}
