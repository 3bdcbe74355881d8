import { expect, test } from "@playwright/test";
import { createTicket, newSignedInPage } from "./helpers";

test.describe("presence and collisions", () => {
  test("another agent viewing, then replying, shows on the ticket and in the inbox; a closed tab goes away", async ({ browser }) => {
    test.setTimeout(60_000); // several browser contexts on a shared machine
    const title = `Presence ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const a = await newSignedInPage(browser, "agent1");
    await a.goto(`/tickets/${id}`);
    await expect(a.getByRole("heading", { level: 1, name: title })).toBeVisible();

    const b = await newSignedInPage(browser, "agent2");
    await b.goto(`/tickets/${id}`);
    await expect(a.getByText("E2E agent2 is viewing")).toBeVisible();
    await b.getByRole("textbox", { name: "Message" }).fill("Let me look into it");
    await expect(a.getByText("E2E agent2 is replying…")).toBeVisible();

    const inbox = await newSignedInPage(browser, "admin");
    await inbox.goto("/tickets");
    const row = inbox.getByRole("table", { name: "Tickets" }).getByRole("row").filter({ hasText: title });
    await expect(row).toContainText("E2E agent2 is replying…");
    await expect(row).toContainText("E2E agent1 is viewing");

    // Closing B's tab says so at once (a keepalive DELETE on pagehide).
    await b.getByRole("textbox", { name: "Message" }).fill("");
    await expect(a.getByText("E2E agent2 is viewing")).toBeVisible(); // B's last word has landed
    await b.close();
    await expect(a.getByText(/E2E agent2 is/)).toHaveCount(0);
    await expect(row).not.toContainText("E2E agent2");
    await a.context().close();
    await inbox.context().close();
  });

  test("a tab that dies silently expires: the viewer's clock passes the expiry", async ({ browser }) => {
    test.setTimeout(60_000); // several browser contexts on a shared machine
    const title = `Expiry ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const a = await newSignedInPage(browser, "agent1");
    await a.clock.install();
    await a.goto(`/tickets/${id}`);
    const b = await newSignedInPage(browser, "agent2");
    await b.goto(`/tickets/${id}`);
    await expect(a.getByText("E2E agent2 is viewing")).toBeVisible();
    // B's goodbye never arrives (a crash, a lost network): only the expiry removes B.
    await b.context().setOffline(true);
    await b.context().close();
    await expect(a.getByText("E2E agent2 is viewing")).toBeVisible();
    await a.clock.fastForward(31_000); // past the 30 s expiry, as A's browser sees time
    await expect(a.getByText("E2E agent2 is viewing")).toHaveCount(0);
    await a.context().close();
  });

  test("sending a reply after someone else replied asks first", async ({ browser }) => {
    test.setTimeout(60_000); // several browser contexts on a shared machine
    const title = `Collision ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const a = await newSignedInPage(browser, "agent1");
    const b = await newSignedInPage(browser, "agent2");
    await a.goto(`/tickets/${id}`);
    await b.goto(`/tickets/${id}`);
    await a.getByRole("textbox", { name: "Message" }).fill("My answer");
    await b.getByRole("textbox", { name: "Message" }).fill("Already answered by B");
    await b.getByRole("button", { name: "Send reply" }).click();
    await expect(b.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();

    await a.getByRole("button", { name: "Send reply" }).click();
    const dialog = a.getByRole("dialog", { name: "Someone replied meanwhile" });
    await expect(dialog).toContainText("E2E agent2 replied since you opened this ticket");
    await dialog.getByRole("button", { name: "Read it first" }).click();
    await expect(a.getByRole("list", { name: "Conversation" }).getByText("Already answered by B")).toBeVisible();
    await expect(a.getByRole("textbox", { name: "Message" })).toHaveValue("My answer");
    // Having seen it, sending goes through without asking again.
    await a.getByRole("button", { name: "Send reply" }).click();
    await expect(a.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    await expect(a.getByRole("list", { name: "Conversation" }).getByText("My answer")).toBeVisible();
    await a.context().close();
    await b.context().close();
  });
});
