import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";
import { ProblemMessage } from "../../components/ProblemMessage";
import { api, unwrap } from "../../lib/api/client";
import { fieldErrors } from "../../lib/api/problem";
import { humanize } from "../../lib/format";
import { tooLong } from "../../lib/text";
import { useDocumentTitle } from "../../lib/title";
import { isStaff, useMe } from "../auth/api";
import { PRIORITIES } from "../inbox/filters";
import { useStaff } from "../users/api";
import { useCreateTicket } from "./api";
import styles from "./Ticket.module.css";

/** Agents open a ticket for a customer (found by email); customers open one for themselves. */
export function NewTicketPage() {
  const me = useMe().data ?? null;
  const staff = isStaff(me);
  const create = useCreateTicket();
  const people = useStaff(staff);
  const navigate = useNavigate();
  const [problem, setProblem] = useState<unknown>(null);
  const [customerError, setCustomerError] = useState<string | null>(null);
  const customers = useQuery({
    queryKey: ["users", "customers"],
    enabled: staff,
    staleTime: 60_000,
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { role: "customer", is_active: true, limit: 100 } } })),
  });
  const errors = fieldErrors(problem);
  const [title, setTitle] = useState("");
  const titleProblem = tooLong(title, 200, "The title");
  const titleError = titleProblem ?? errors.title;
  useDocumentTitle("New ticket");

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (titleProblem) {
      document.getElementById("new-title-input")?.focus();
      return;
    }
    setProblem(null);
    setCustomerError(null);
    const data = new FormData(event.currentTarget);
    try {
      let customerId: string | undefined;
      if (staff) {
        const email = String(data.get("customer") ?? "").trim();
        const found = await unwrap(
          api.GET("/api/v1/users", { params: { query: { email, role: "customer", limit: 1 } } }),
        );
        customerId = found.data[0]?.id;
        if (!customerId) {
          setCustomerError(`No active customer has the email ${email}.`);
          return;
        }
      }
      const assignee = String(data.get("assigned_to") ?? "");
      const ticket = await create.mutateAsync({
        title: String(data.get("title") ?? ""),
        description: String(data.get("description") ?? ""),
        ...(staff
          ? {
              customer_id: customerId,
              priority: String(data.get("priority")) as (typeof PRIORITIES)[number],
              ...(assignee ? { assigned_to: assignee } : {}),
            }
          : {}),
      });
      navigate(`/tickets/${ticket.id}`);
    } catch (err) {
      setProblem(err);
    }
  }

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New ticket</h1>
      <form className={styles.form} onSubmit={(e) => void submit(e)}>
        {staff && (
          <>
            <label htmlFor="new-customer">Customer email</label>
            <input
              id="new-customer"
              name="customer"
              type="email"
              list="customer-emails"
              required
              aria-invalid={customerError ? true : undefined}
              aria-describedby={customerError ? "new-customer-error" : undefined}
            />
            <datalist id="customer-emails">
              {customers.data?.data.map((c) => (
                <option key={c.id} value={c.email}>
                  {c.name}
                </option>
              ))}
            </datalist>
            {customerError && (
              <p id="new-customer-error" role="alert" className={styles.error}>
                {customerError}
              </p>
            )}
          </>
        )}
        <label htmlFor="new-title-input">Title</label>
        {/* No maxLength: a pasted 500-character title is not cut silently; the limit is said. */}
        <input
          id="new-title-input"
          name="title"
          required
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          aria-invalid={titleError ? true : undefined}
          aria-describedby={titleError ? "new-title-error" : "new-title-hint"}
        />
        {titleError ? (
          <p id="new-title-error" role="alert" className={styles.error}>{titleError}</p>
        ) : (
          <p id="new-title-hint" className={styles.hint}>Up to 200 characters.</p>
        )}
        <label htmlFor="new-description">Description</label>
        <textarea id="new-description" name="description" rows={8} maxLength={100000} />
        {staff && (
          <>
            <label htmlFor="new-priority">Priority</label>
            <select id="new-priority" name="priority" defaultValue="normal">
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>{humanize(p)}</option>
              ))}
            </select>
            <label htmlFor="new-assignee">Assignee</label>
            <select id="new-assignee" name="assigned_to" defaultValue="">
              <option value="">Unassigned</option>
              {people.data?.map((u) => (
                <option key={u.id} value={u.id}>{u.name}</option>
              ))}
            </select>
          </>
        )}
        {problem != null && <ProblemMessage error={problem} />}
        <div className={styles.actions}>
          <button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create ticket"}
          </button>
        </div>
      </form>
    </section>
  );
}
