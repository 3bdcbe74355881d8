import type { components } from "../../lib/api/schema";

type MessageRead = components["schemas"]["MessageRead"];

/** How a message arrived, for its header ("by email"); null for the web interface's own. */
export function channelLabel(channel: MessageRead["channel"]): string | null {
  if (channel === "email") return "by email";
  if (channel === "api") return "via API";
  return null;
}

/** The delivery state of a message mailed to the customer, in words; null when it was not mailed. */
export function deliveryLabel(delivery: MessageRead["delivery"]): string | null {
  if (!delivery) return null;
  switch (delivery.status) {
    case "queued":
      return "Email queued";
    case "sent":
      return "Emailed";
    case "bounced":
      return `Email bounced${delivery.error ? `: ${delivery.error}` : ""}`;
    case "failed":
      return `Email failed${delivery.error ? `: ${delivery.error}` : ""}`;
  }
}
