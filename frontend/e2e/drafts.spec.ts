import { type Page, expect, test } from "@playwright/test";
import { createTicket, newSignedInPage } from "./helpers";

/** The draft autosave's PUT for this ticket (after the typing pause). */
function draftSaved(page: Page, id: string) {
  return page.waitForResponse(
    (r) => r.url().endsWith(`/api/v1/tickets/${id}/draft`) && r.request().method() === "PUT" && r.status() === 200,
  );
}

test.describe("drafts", () => {
  test("a draft survives a reload and follows the agent to another browser; sending discards it", async ({ browser }) => {
    test.setTimeout(90_000); // several browser contexts on a shared machine
    const title = `Drafted ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const first = await newSignedInPage(browser, "agent1");
    await first.goto(`/tickets/${id}`);
    const message = first.getByRole("textbox", { name: "Message" });
    const saved = draftSaved(first, id);
    await message.fill("Dear customer, the technician comes on Tuesday");
    await saved;

    first.on("dialog", (dialog) => void dialog.accept()); // the unsent-reply warning: leave
    await first.reload();
    await expect(first.getByRole("textbox", { name: "Message" })).toHaveValue("Dear customer, the technician comes on Tuesday");
    await expect(first.getByRole("status").filter({ hasText: "Your draft is restored." })).toBeVisible();

    const second = await newSignedInPage(browser, "agent1");
    await second.goto(`/tickets/${id}`);
    const there = second.getByRole("textbox", { name: "Message" });
    await expect(there).toHaveValue("Dear customer, the technician comes on Tuesday");
    const again = draftSaved(second, id);
    await there.fill("Dear customer, the technician comes on Wednesday");
    await again;
    await second.getByRole("button", { name: "Send reply" }).click();
    await expect(second.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    await expect(
      second.getByRole("list", { name: "Conversation" }).getByText("Dear customer, the technician comes on Wednesday"),
    ).toBeVisible();

    // Sent: no draft is left to restore, in either browser.
    await first.reload();
    await expect(first.getByRole("list", { name: "Conversation" }).getByText("comes on Wednesday")).toBeVisible();
    await expect(first.getByRole("textbox", { name: "Message" })).toHaveValue("");
    const other = await newSignedInPage(browser, "agent2"); // drafts are per agent
    await other.goto(`/tickets/${id}`);
    await expect(other.getByRole("textbox", { name: "Message" })).toHaveValue("");
    await first.context().close();
    await second.context().close();
    await other.context().close();
  });
});
