import { expect, test } from "@playwright/test";
import { PNG, createTicket, docsScreenshot, expectAccessible, newSignedInPage, signIn } from "./helpers";

test.describe("working a ticket", () => {
  test("agent finds, changes, replies with an attachment and adds a note; the customer sees only the reply", async ({
    page,
    browser,
  }) => {
    const word = `zebra${Date.now().toString(36)}`;
    const id = await createTicket(`Cannot print invoices ${word}`, `The ${word} printer says paper jam.`);
    await createTicket("Another ticket that must not match", "Nothing to see.");

    await signIn(page, "agent1");
    await page.getByRole("searchbox", { name: "Search tickets" }).fill(word);
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(new RegExp(`q=${word}`));
    const rows = page.getByRole("table", { name: "Tickets" }).getByRole("row");
    await expect(rows).toHaveCount(2); // header + the one match
    await rows.nth(1).getByRole("link").click();
    await expect(page).toHaveURL(new RegExp(`/tickets/${id}$`));
    await expect(page.getByRole("heading", { name: `Cannot print invoices ${word}` })).toBeVisible();

    await page.getByLabel("Status").selectOption("open");
    await expect(page.getByRole("status").filter({ hasText: "Unsaved changes" })).toBeVisible();
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Version 2")).toBeVisible();
    await expect(page.getByLabel("Status")).toBeFocused(); // focus stays where the user works
    await page.getByLabel("Assignee").selectOption({ label: "E2E agent1" });
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Version 3")).toBeVisible();
    await expect(page.getByRole("region", { name: "History" })).toContainText("Status: New → Open");
    await expect(page.getByRole("region", { name: "History" })).toContainText("Assignee: Unassigned → E2E agent1");

    // A file type the server refuses is shown as an error and is not sent.
    await page.getByLabel("Attach files").setInputFiles({ name: "tool.exe", mimeType: "application/octet-stream", buffer: Buffer.from("MZ\x90\x00not really a program") });
    await expect(page.getByRole("alert").filter({ hasText: "Not attached" })).toContainText(/tool\.exe|type/i);
    await page.getByRole("button", { name: "Remove tool.exe" }).click();

    await page.keyboard.press("r");
    await expect(page.getByLabel("Message")).toBeFocused();
    await page.getByLabel("Message").fill(`Please restart the ${word} printer.`);
    await page.getByLabel("Attach files").setInputFiles({ name: "steps.png", mimeType: "image/png", buffer: PNG });
    await expect(page.getByText("uploaded")).toBeVisible();
    await page.getByRole("button", { name: "Send reply" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    const thread = page.getByRole("list", { name: "Conversation" });
    await expect(thread.getByRole("article", { name: "Message from E2E agent1 (you)" })).toContainText("restart the");
    await expect(thread.getByRole("link", { name: "steps.png" })).toBeVisible();

    await page.getByLabel("Internal note (hidden from the customer)").check();
    await page.getByLabel("Note (only agents see it)").fill("Customer was rude about the printer; keep an eye.");
    await page.getByRole("button", { name: "Add internal note" }).click();
    await expect(thread.getByRole("article", { name: "Internal note from E2E agent1 (you)" })).toContainText("keep an eye");
    // Metadata: a typed value, then removed; both land in the history.
    const metadata = page.getByRole("region", { name: "Metadata" });
    await metadata.getByLabel("Key").fill("Bad Key");
    await metadata.getByLabel("Value (text or JSON)").fill("1");
    await metadata.getByRole("button", { name: "Set" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Keys are lower-case" })).toBeVisible();
    await metadata.getByLabel("Key").fill("crm.tier");
    await metadata.getByLabel("Value (text or JSON)").fill('{"level": 2}');
    await metadata.getByRole("button", { name: "Set" }).click();
    await expect(metadata.getByRole("definition")).toContainText('{"level":2}');
    await expect(page.getByRole("region", { name: "History" })).toContainText('Metadata crm.tier: set to {"level":2}');
    await expectAccessible(page);
    await docsScreenshot(page, "ticket");

    // The customer, in another browser context, sees the reply and the file but not the note.
    const customer = await newSignedInPage(browser, "customer");
    await expect(customer.getByRole("heading", { name: "My tickets" })).toBeVisible();
    await customer.getByRole("link", { name: `Cannot print invoices ${word}` }).click();
    const theirs = customer.getByRole("list", { name: "Conversation" });
    await expect(theirs).toContainText(`Please restart the ${word} printer.`);
    await expect(theirs.getByRole("link", { name: "steps.png" })).toBeVisible();
    await expect(customer.getByText("keep an eye")).toHaveCount(0);
    await expect(customer.getByText("Internal note")).toHaveCount(0);
    await expect(customer.getByLabel("Assignee")).toHaveCount(0);
    await expect(customer.getByLabel(/Internal note/)).toHaveCount(0); // customers write replies only
    await customer.getByRole("textbox", { name: "Message", exact: true }).fill("Restarted it, works again. Photo attached.");
    await customer.getByLabel("Attach files").setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: PNG });
    await expect(customer.getByText("uploaded")).toBeVisible();
    await customer.getByRole("button", { name: "Send reply" }).click();
    await expect(theirs.getByRole("article", { name: "Message from You" })).toContainText("works again");
    await expect(theirs.getByRole("link", { name: "photo.png" })).toBeVisible();
    await expectAccessible(customer);
    await docsScreenshot(customer, "portal-ticket");
    await customer.context().close();

    // The agent sees the customer's reply under the customer's name.
    await page.reload();
    await expect(thread.getByRole("article", { name: "Message from E2E customer" })).toContainText("works again");
  });

  test("two agents edit the same ticket: other fields merge, the same field shows both values", async ({ browser }) => {
    const id = await createTicket("Conflicting edits", "The original description.");
    const first = await newSignedInPage(browser, "agent1");
    const second = await newSignedInPage(browser, "agent2");
    // Live updates would bring each page to the other's version before it saves (no conflict
    // left to show): their event streams are cut here, as on a flaky network.
    for (const page of [first, second]) {
      await page.context().route("**/api/v1/events/stream**", (route) => route.abort());
    }
    await first.goto(`/tickets/${id}`);
    await second.goto(`/tickets/${id}`);
    await expect(second.getByText("Version 1")).toBeVisible();

    // Agent 1 changes the priority; agent 2, still on version 1, saves the description: merged.
    await first.getByLabel("Priority").selectOption("urgent");
    await first.getByRole("button", { name: "Save changes" }).click();
    await expect(first.getByText("Version 2")).toBeVisible();
    await second.getByRole("button", { name: "Edit description" }).click();
    await second.getByRole("textbox", { name: "Description" }).fill("Agent 2's better description.");
    await second.getByRole("button", { name: "Save description" }).click();
    await expect(second.getByRole("alert").filter({ hasText: "Changed by someone else" })).toHaveCount(0);
    await expect(second.getByText("Version 3")).toBeVisible();
    await expect(second.getByRole("status").filter({ hasText: "changed other fields" })).toBeVisible();
    await expect(second.getByText("Agent 2's better description.")).toBeVisible();
    await expect(second.getByLabel("Priority")).toHaveValue("urgent"); // their change is shown too
    await expect(second.getByRole("button", { name: "Edit description" })).toBeFocused();

    // The same field: agent 1 (on version 2) sets the priority to low after agent 2 set high.
    await second.getByLabel("Priority").selectOption("high");
    await second.getByRole("button", { name: "Save changes" }).click();
    await expect(second.getByText("Version 4")).toBeVisible();
    await first.getByLabel("Priority").selectOption("low"); // based on version 2: stale
    await first.getByRole("button", { name: "Save changes" }).click();
    const notice = first.getByRole("alert").filter({ hasText: "Changed by someone else" });
    await expect(notice).toContainText("Priority: theirs High, yours Low");
    await expect(notice).not.toContainText("Description");
    await expect(first.getByLabel("Priority")).toHaveValue("high");
    await expect(first.getByText("Version 4")).toBeVisible();
    await expectAccessible(first);
    await docsScreenshot(first, "conflict");

    await first.getByRole("button", { name: "Keep theirs" }).click();
    await expect(notice).toHaveCount(0);
    await second.reload();
    await expect(second.getByLabel("Priority")).toHaveValue("high");
    await first.context().close();
    await second.context().close();
  });

  test("losing the connection shows a banner with retry; the page recovers", async ({ page, context }) => {
    await createTicket("Offline banner ticket");
    await signIn(page, "agent1");
    await expect(page.getByRole("table", { name: "Tickets" })).toBeVisible();
    await context.setOffline(true);
    await page.getByLabel("Priority").selectOption("urgent"); // a new query while offline
    const banner = page.getByRole("alert").filter({ hasText: /offline|could not be reached/ });
    await expect(banner).toBeVisible();
    await expectAccessible(page);
    await banner.getByRole("button", { name: "Retry" }).click();
    await expect(banner).toContainText("Still offline");
    await context.setOffline(false); // the browser says it is online again: the banner goes
    await expect(banner).toHaveCount(0);
    await page.getByLabel("Priority").selectOption("");
    await expect(page.getByRole("link", { name: "Offline banner ticket" }).first()).toBeVisible();
  });

  test("an agent opens a ticket for a customer", async ({ page }) => {
    await signIn(page, "agent1");
    await page.getByRole("link", { name: "New ticket" }).first().click();
    await page.getByLabel("Customer email").fill("nobody-here@example.com");
    await page.getByLabel("Title").fill("Phone call: VPN drops");
    await page.getByRole("button", { name: "Create ticket" }).click();
    await expect(page.getByRole("alert")).toContainText("No active customer has the email nobody-here@example.com");
    await page.getByLabel("Customer email").fill("e2e-customer@example.com");
    await page.getByLabel("Priority").selectOption("high");
    await expectAccessible(page);
    await page.getByRole("button", { name: "Create ticket" }).click();
    await expect(page.getByRole("heading", { name: "Phone call: VPN drops" })).toBeVisible();
    await expect(page.getByLabel("Priority")).toHaveValue("high");
    await expect(page.getByRole("complementary", { name: "Ticket details" })).toContainText("e2e-customer@example.com");
  });
});
