"""Text fragments for generated data.

Every fragment is plain ASCII without tabs, backslashes or line breaks, so rows can be written
in PostgreSQL's COPY text format without escaping (checked at import by ``_check_clean``).
"""

from __future__ import annotations

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Aisha", "Bea", "Ben", "Carla", "Chen", "Chloe", "Dario",
    "Diego", "Elena", "Emil", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jonas",
    "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luca", "Maria", "Mateo", "Maya", "Mina",
    "Nadia", "Noah", "Olga", "Omar", "Paula", "Pedro", "Priya", "Rafael", "Rosa", "Sami", "Sara",
    "Sofia", "Tariq", "Theo", "Vera", "Yara", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Adeyemi", "Andersen", "Bauer", "Becker", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia",
    "Haddad", "Hansen", "Ito", "Jansen", "Kim", "Kowalski", "Larsen", "Lopez", "Martin", "Meyer",
    "Moreau", "Nakamura", "Novak", "Okafor", "Olsen", "Petrov", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Smith", "Tanaka", "Torres", "Weber", "Wong", "Yilmaz", "Zhang",
)  # fmt: skip

# Title = PROBLEM with {p} replaced by a product (and {n} by a number).
PRODUCTS = (
    "mobile app", "web dashboard", "billing portal", "API", "checkout", "desktop client",
    "reporting module", "integrations page", "admin console", "single sign-on", "export tool",
    "notification center",
)  # fmt: skip

PROBLEMS = (
    "Cannot log in to the {p}",
    "Password reset link for the {p} has expired",
    "Refund request for order {n}",
    "Invoice {n} shows the wrong VAT rate",
    "Charged twice for my subscription",
    "The {p} is very slow since the last update",
    "Error 500 when saving changes in the {p}",
    "How do I export my data from the {p}?",
    "Feature request: dark mode in the {p}",
    "Two-factor authentication code not arriving",
    "Cannot upload attachments larger than 10 MB",
    "The {p} crashes on startup",
    "Need to change the billing address on invoice {n}",
    "Webhook deliveries failing with timeout",
    "Account locked after too many attempts",
    "Shipping status for order {n} not updating",
    "Discount code rejected at checkout",
    "Request to delete my account and personal data",
    "Sync between the {p} and the API is delayed",
    "Missing emails from the {p}",
    "Upgrade from starter to pro plan",
    "Cannot add a new team member in the {p}",
    "Wrong currency shown in the {p}",
    "Rate limit errors from the API during import",
)  # fmt: skip

DESCRIPTION_OPENERS = (
    "Hello,",
    "Hi team,",
    "Good morning,",
    "Hi there,",
    "Dear support,",
    "Hello again,",
)

DESCRIPTION_SENTENCES = (
    "Since yesterday I cannot finish the process, it stops halfway without any message.",
    "I tried clearing the browser cache and logging in from another device, same result.",
    "This is blocking our whole team and we have a deadline at the end of the week.",
    "The error appears every time I click the save button.",
    "We are on the pro plan and this worked fine last month.",
    "I attached a screenshot of the error message I see.",
    "Could you please check what is wrong with my account?",
    "Our finance department needs a corrected invoice for the audit.",
    "The page keeps loading forever and then shows a timeout.",
    "It only happens on the mobile app, the web version works.",
    "I followed the steps in the help center article but nothing changed.",
    "Several customers of ours reported the same problem this morning.",
    "Please let me know if you need any more details from my side.",
    "The password reset email arrives but the link says it has expired.",
    "We were charged twice on the same day for one subscription.",
    "The export finishes but the file is empty.",
    "Notifications stopped arriving after we changed the email address.",
    "I would like to understand why the price changed without notice.",
)  # fmt: skip

CUSTOMER_REPLIES = (
    "Thanks for the quick answer, I will try that now.",
    "Unfortunately the problem is still there after the update.",
    "I tried the steps you suggested, the error message is the same.",
    "That worked, thank you very much!",
    "Any news on this? It is still blocking us.",
    "Here is the order number you asked for.",
    "I can confirm it happens in both Chrome and Firefox.",
    "Could you escalate this please? We are losing sales.",
    "Sorry for the late reply, I was travelling.",
    "Yes, you can close the ticket, everything works now.",
    "I sent the screenshot again, please check.",
    "Is there a workaround until the fix is released?",
)  # fmt: skip

AGENT_REPLIES = (
    "Thanks for reaching out! I am looking into this now.",
    "Could you send us the exact error message and the time it happened?",
    "I have reset your session, please log out and log in again.",
    "Our engineers confirmed the issue and are working on a fix.",
    "I have issued a refund, it should appear on your statement within 5 business days.",
    "A corrected invoice has been sent to your billing email.",
    "Please try again in a private browser window and let me know the result.",
    "The fix has been deployed, could you confirm it works for you?",
    "I am marking this ticket as solved, reply here if anything else comes up.",
    "I have forwarded your request to our billing team.",
    "Sorry for the inconvenience, we have extended your trial by 14 days.",
    "You can find the export option under Settings, then Data.",
)  # fmt: skip

INTERNAL_NOTES = (
    "Checked the logs: the request fails in the payment provider callback.",
    "Known issue, linked to the incident from this morning.",
    "Customer is on an enterprise contract, handle with priority.",
    "Escalated to tier 2, waiting for the engineering team.",
    "Duplicate of an earlier ticket from the same customer.",
    "Refund approved by the billing lead.",
    "Reproduced on staging with the same account settings.",
    "Asked the platform team whether the rate limit can be raised for this account.",
)  # fmt: skip

SYSTEM_MESSAGES = (
    "Ticket closed automatically after 7 days without a reply.",
    "Customer satisfaction survey sent.",
    "Ticket reopened by an email reply from the customer.",
)

METADATA_VALUES = {
    "plan": ('"free"', '"starter"', '"pro"', '"enterprise"'),
    "region": ('"eu-west"', '"eu-central"', '"us-east"', '"us-west"', '"ap-south"'),
    "channel": ('"email"', '"web"', '"chat"', '"phone"', '"api"'),
    "browser": ('"chrome"', '"firefox"', '"safari"', '"edge"'),
    "sla_hours": ("4", "8", "24", "72"),
    "vip": ("true", "false"),
}
# order_id is generated ("ORD-0001234"); these keys take values from METADATA_VALUES.
METADATA_KEYS = ("plan", "region", "order_id", "channel", "browser", "sla_hours", "vip")


def _check_clean() -> None:
    groups: list[tuple[str, ...]] = [
        FIRST_NAMES,
        LAST_NAMES,
        PRODUCTS,
        PROBLEMS,
        DESCRIPTION_OPENERS,
        DESCRIPTION_SENTENCES,
        CUSTOMER_REPLIES,
        AGENT_REPLIES,
        INTERNAL_NOTES,
        SYSTEM_MESSAGES,
        *METADATA_VALUES.values(),
    ]
    for group in groups:
        for fragment in group:
            if not fragment or not fragment.isascii() or any(c in fragment for c in "\t\n\r\\"):
                raise ValueError(f"seed fragment unusable in COPY text format: {fragment!r}")


_check_clean()
