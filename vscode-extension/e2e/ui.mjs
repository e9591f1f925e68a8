// Page helpers for VS Code's workbench in Chromium (selectors measured on code-server 4.139.1).
import { mkdirSync } from "node:fs";
import path from "node:path";

import { log } from "./tools.mjs";

export const WIDGET = ".quick-input-widget";
const INPUT = `${WIDGET} .quick-input-box input`;

export class Ui {
  constructor(page, shotsDir) {
    this.page = page;
    this.shotsDir = shotsDir;
    this.count = 0;
    mkdirSync(shotsDir, { recursive: true });
  }

  /** Save a numbered PNG screenshot of the whole window. */
  async shot(name) {
    this.count += 1;
    const file = path.join(this.shotsDir, `${String(this.count).padStart(2, "0")}-${name}.png`);
    await this.page.waitForTimeout(400); // let notifications finish fading in
    await this.page.screenshot({ path: file });
    log(`screenshot ${path.basename(file)}`);
    return file;
  }

  /** Wait until the workbench (status bar) shows. */
  async ready() {
    await this.page.locator(".monaco-workbench .part.statusbar").waitFor({ state: "visible", timeout: 60_000 });
  }

  /** Run a palette command by its title ("Experience: Train"). */
  async command(title) {
    await this.closeQuickInput();
    await this.page.keyboard.press("F1");
    const input = this.page.locator(INPUT);
    await input.waitFor({ state: "visible", timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = this.page.locator(`${WIDGET} .quick-input-list .monaco-list-row`, { hasText: title }).first();
    await row.waitFor({ state: "visible", timeout: 15_000 });
    await this.page.keyboard.press("Enter");
  }

  async closeQuickInput() {
    if (await this.page.locator(WIDGET).isVisible()) {
      await this.page.keyboard.press("Escape");
      await this.page.locator(WIDGET).waitFor({ state: "hidden", timeout: 5000 });
    }
  }

  /** Close the Settings editor (a modal in VS Code 1.139): Escape, else its close button. */
  async closeSettings() {
    const settings = this.page.locator(".settings-editor").first();
    for (let i = 0; i < 3 && (await settings.isVisible()); i++) {
      await this.page.keyboard.press("Escape");
      await this.page.waitForTimeout(300);
    }
    if (await settings.isVisible()) {
      await this.page.locator('[aria-label^="Close"]:visible, .codicon-close:visible').first().click();
      await settings.waitFor({ state: "hidden", timeout: 5000 });
    }
  }

  /** Answer the quick input titled `title` (a pick: filter by `text`, the row must show `expect`). */
  async answer(title, text, expect = undefined) {
    const titleBox = this.page.locator(`${WIDGET} .quick-input-title`, { hasText: title });
    await titleBox.waitFor({ state: "visible", timeout: 30_000 });
    const input = this.page.locator(INPUT);
    await input.fill(text);
    if (expect !== undefined) {
      const row = this.page.locator(`${WIDGET} .quick-input-list .monaco-list-row.focused`, { hasText: expect });
      await row.waitFor({ state: "visible", timeout: 10_000 });
    }
    await this.page.keyboard.press("Enter");
    await titleBox.waitFor({ state: "hidden", timeout: 10_000 });
  }

  /** The status-bar item of the extension. */
  statusItem() {
    return this.page
      .locator(".part.statusbar .statusbar-item", { has: this.page.locator(".codicon-beaker, .codicon-sync, .codicon-error") })
      .filter({ hasText: /Experience|step/ });
  }

  /** A notification toast whose text matches. */
  toast(text) {
    return this.page.locator(".notifications-toasts .notification-toast", { hasText: text });
  }

  /** Wait for `locator`, failing at once (with its text) if an error notification shows instead. */
  async waitOrFail(locator, timeout) {
    const error = this.page.locator(".notifications-toasts .notification-toast", { has: this.page.locator(".codicon-error") });
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (await locator.first().isVisible()) {
        return;
      }
      if (await error.first().isVisible()) {
        throw new Error(`VS Code showed an error: ${(await error.first().innerText()).trim()}`);
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`timed out after ${timeout / 1000} s waiting for ${locator}`);
  }

  /** A row of the Runs view. */
  treeRow(text) {
    return this.page.locator('.pane-body[aria-label*="Runs"] .monaco-list-row, .pane-body .monaco-list-row', { hasText: text });
  }

  /** Click a row of the Runs view (exactly the label given, first match). */
  async clickTree(text) {
    const row = this.treeRow(text).first();
    await row.waitFor({ state: "visible", timeout: 30_000 });
    await row.click();
    return row;
  }

  /** Collapse every node of the Runs view (its "Collapse All" title action), so that the runs are all in sight. */
  async collapseTree() {
    await this.page.locator(".part.sidebar").first().hover();
    const action = this.viewAction("Collapse All");
    if ((await action.count()) > 0 && (await action.isVisible())) {
      await action.click();
      await this.page.waitForTimeout(300);
    }
  }

  /** Right-click a row of the Runs view (a run: the tree is collapsed first) and pick `item` from its context menu. */
  async contextMenu(rowText, item) {
    await this.collapseTree();
    const row = this.treeRow(rowText).first();
    await row.waitFor({ state: "visible", timeout: 30_000 });
    await row.click({ button: "right" });
    const entry = this.page.locator(".monaco-menu .action-label", { hasText: item }).first();
    await entry.waitFor({ state: "visible", timeout: 10_000 });
    await entry.hover();
    await this.page.waitForTimeout(200);
    await entry.click();
    await this.page.waitForTimeout(1000);
    if (await entry.isVisible()) {
      await this.page.keyboard.press("Enter"); // the click was lost (the tree redrew under the menu): the item is focused
    }
  }

  /** An action of the Runs view's title bar, by its label ("Stop"). */
  viewAction(label) {
    return this.page
      .locator(
        `.part.sidebar .title-actions .action-label[aria-label="${label}"], .part.sidebar .pane-header .action-label[aria-label="${label}"]`,
      )
      .first();
  }

  /** Whether a toolbar action is disabled (its enablement is false). */
  async disabled(action) {
    await action.waitFor({ state: "attached", timeout: 15_000 });
    const [aria, cls] = await Promise.all([action.getAttribute("aria-disabled"), action.getAttribute("class")]);
    return aria === "true" || /\bdisabled\b/.test(cls ?? "");
  }

  /** The page inside the (first) webview panel. */
  webview() {
    return this.page.frameLocator("iframe.webview").first().frameLocator("#active-frame");
  }

  /** Text of the visible lines of the active editor (NBSPs made plain spaces). */
  async editorText() {
    const lines = this.page.locator(".editor-instance .monaco-editor .view-lines").first();
    return (await lines.innerText()).replace(/\u00a0/g, " ");
  }
}
