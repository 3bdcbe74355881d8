import { type FormEvent, useId, useState } from "react";
import { Link } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { useStaff } from "../users/api";
import { useCreateMailbox, useMailboxes, useTestConnection, useUpdateMailbox } from "./api";
import { type ConnectionOutcome, createBody, credentialState, type Mailbox, PRIORITIES, updateBody } from "./form";
import styles from "../users/Admin.module.css";

const DEFAULT_TEMPLATE =
  "Thank you for your message. We have opened ticket #{number} ({title}) and will answer as soon as we can. Please keep [#{number}] in the subject when you write about it.";

/** The inbound signing secret of a new mailbox: shown once, with a copy button. */
function SecretOnce({ address, secret, onDone }: { address: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div role="alert" className={styles.secret}>
      <p>
        <strong>Copy the inbound signing secret of {address} now: it is shown only once.</strong>
      </p>
      <label htmlFor="mailbox-secret">Inbound signing secret</label>
      <div className={styles.row}>
        <input id="mailbox-secret" readOnly value={secret} onFocus={(e) => e.target.select()} className={styles.mono} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(secret);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          Copy secret
        </button>
        <button type="button" data-variant="secondary" onClick={onDone}>
          Done
        </button>
      </div>
      {copied && <p role="status">Copied to the clipboard.</p>}
    </div>
  );
}

/** A write-only credential: typed to set or replace, never shown back; "turn off" removes it. */
function CredentialField({ which, mailbox }: { which: "imap" | "smtp"; mailbox: Mailbox | null }) {
  const id = useId();
  const name = `${which}_url` as const;
  const upper = which.toUpperCase();
  const isSet = mailbox ? (which === "imap" ? mailbox.inbound === "imap" : mailbox.smtp_override) : false;
  const placeholder = which === "imap" ? "imaps://user:password@imap.example.com:993/INBOX" : "smtp+starttls://user:password@smtp.example.com:587";
  return (
    <>
      <label htmlFor={`${id}-url`}>
        {mailbox ? `${isSet ? "Replace" : "Set"} ${upper} URL` : `${upper} URL (optional)`}
      </label>
      <div>
        <input
          id={`${id}-url`}
          name={name}
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder={placeholder}
          aria-describedby={`${id}-state`}
          maxLength={2000}
          className={styles.mono}
        />
        <small id={`${id}-state`} className={styles.note}>
          {mailbox
            ? `${credentialState(mailbox, which)}${isSet ? " Leave empty to keep it." : ""}`
            : which === "imap"
              ? "Write-only: stored encrypted, never shown again. Empty: mail comes by the inbound endpoint or the CLI."
              : "Write-only: stored encrypted, never shown again. Empty: the server's default."}
        </small>
        {mailbox && isSet && (
          <label>
            <input type="checkbox" name={`${name}_remove`} />{" "}
            {which === "imap" ? "Turn IMAP off" : "Use the server's default SMTP"}
          </label>
        )}
      </div>
    </>
  );
}

function MailboxForm({ mailbox, onDone }: { mailbox: Mailbox | null; onDone: (created?: { address: string; secret: string }) => void }) {
  const create = useCreateMailbox();
  const update = useUpdateMailbox();
  const staff = useStaff(true);
  const id = useId();
  const mutation = mailbox ? update : create;
  const title = mailbox ? `Edit ${mailbox.address}` : "Create a mailbox";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    if (mailbox) {
      await update.mutateAsync({ id: mailbox.id, body: updateBody(data) });
      onDone();
    } else {
      const result = await create.mutateAsync(createBody(data));
      form.reset();
      onDone({ address: result.address, secret: result.inbound_secret });
    }
  }

  return (
    <form className={styles.card} onSubmit={(e) => void submit(e).catch(() => undefined)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div className={styles.grid}>
        {!mailbox && (
          <>
            <label htmlFor={`${id}-address`}>Address</label>
            <input id={`${id}-address`} name="address" type="email" required maxLength={320} />
          </>
        )}
        <label htmlFor={`${id}-name`}>Display name</label>
        <input id={`${id}-name`} name="display_name" maxLength={200} defaultValue={mailbox?.display_name ?? ""} />
        <CredentialField which="imap" mailbox={mailbox} />
        <CredentialField which="smtp" mailbox={mailbox} />
        <label htmlFor={`${id}-priority`}>Priority of new tickets</label>
        <select id={`${id}-priority`} name="default_priority" defaultValue={mailbox?.default_priority ?? "normal"}>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>{humanize(p)}</option>
          ))}
        </select>
        <label htmlFor={`${id}-assignee`}>Assignee of new tickets</label>
        <select id={`${id}-assignee`} name="default_assignee" defaultValue={mailbox?.default_assignee ?? ""}>
          <option value="">Nobody</option>
          {(staff.data ?? []).map((u) => (
            <option key={u.id} value={u.id}>{u.name} ({u.email})</option>
          ))}
        </select>
        <label htmlFor={`${id}-template`}>Acknowledgement text ({"{number}"}, {"{title}"})</label>
        <textarea
          id={`${id}-template`}
          name="auto_acknowledge_template"
          rows={3}
          maxLength={20000}
          defaultValue={mailbox?.auto_acknowledge_template ?? DEFAULT_TEMPLATE}
        />
      </div>
      <fieldset className={styles.scopes}>
        <legend>Behaviour</legend>
        <label>
          <input type="checkbox" name="allow_unknown_senders" defaultChecked={mailbox?.allow_unknown_senders ?? true} /> Unknown
          senders open tickets
        </label>
        <label>
          <input type="checkbox" name="auto_acknowledge" defaultChecked={mailbox?.auto_acknowledge ?? false} /> Acknowledge new
          tickets automatically
        </label>
        <label>
          <input type="checkbox" name="is_active" defaultChecked={mailbox?.is_active ?? true} /> Active
        </label>
        <label>
          <input type="checkbox" name="is_default" defaultChecked={mailbox?.is_default ?? false} /> Default: mails the replies of
          tickets opened on the web or by the API
        </label>
      </fieldset>
      {mutation.isError && <ProblemMessage error={mutation.error} />}
      <div className={styles.row}>
        <button type="submit" disabled={mutation.isPending}>{mailbox ? "Save changes" : "Create mailbox"}</button>
        {mailbox && (
          <button type="button" data-variant="secondary" onClick={() => onDone()}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function ConnectionResult({ address, outcome }: { address: string; outcome: ConnectionOutcome }) {
  const line = (name: string, check: ConnectionOutcome["smtp"]) =>
    check ? `${name}: ${check.ok ? "OK" : "Failed"} — ${check.detail}` : `${name}: not configured`;
  return (
    <div className={styles.card}>
      <h2>Connection test of {address}: {outcome.ok ? "all good" : "failed"}</h2>
      <ul>
        <li>{line("IMAP", outcome.imap)}</li>
        <li>{line("SMTP", outcome.smtp)}</li>
      </ul>
    </div>
  );
}

export function MailboxesPage() {
  const mailboxes = useMailboxes();
  const test = useTestConnection();
  const [editing, setEditing] = useState<Mailbox | null>(null);
  const [created, setCreated] = useState<{ address: string; secret: string } | null>(null);
  const [tested, setTested] = useState<{ address: string; outcome: ConnectionOutcome } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useDocumentTitle("Mailboxes");

  async function runTest(mailbox: Mailbox) {
    setTested(null);
    const outcome = await test.mutateAsync(mailbox.id);
    setTested({ address: mailbox.address, outcome });
  }

  return (
    <section aria-labelledby="mailboxes-title">
      <h1 id="mailboxes-title">Mailboxes</h1>
      <p>
        Mail to these addresses becomes tickets; agents&apos; public replies go out as mail. Mail that could not be processed waits in the{" "}
        <Link to="/admin/quarantine">quarantine</Link>.
      </p>
      {created && <SecretOnce address={created.address} secret={created.secret} onDone={() => setCreated(null)} />}
      {editing ? (
        <MailboxForm
          key={editing.id}
          mailbox={editing}
          onDone={() => {
            setNotice(`Saved ${editing.address}.`);
            setEditing(null);
          }}
        />
      ) : (
        <MailboxForm mailbox={null} onDone={(c) => c && setCreated(c)} />
      )}
      <div role="status">{notice}</div>
      {mailboxes.isPending ? (
        <Loading label="Loading mailboxes" />
      ) : mailboxes.isError ? (
        <ProblemMessage error={mailboxes.error} retry={() => void mailboxes.refetch()} />
      ) : mailboxes.data.length === 0 ? (
        <EmptyState title="No mailboxes yet" />
      ) : (
        <div className={styles.scroll} role="region" aria-label="Mailboxes, scrollable" tabIndex={0}>
          <table aria-label="Mailboxes">
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Name</th>
                <th scope="col">Mail comes by</th>
                <th scope="col">Default</th>
                <th scope="col">Active</th>
                <th scope="col">IMAP state</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {mailboxes.data.map((m) => (
                <tr key={m.id}>
                  <td>{m.address}</td>
                  <td>{m.display_name || "—"}</td>
                  <td>{m.inbound === "imap" ? "IMAP" : "Inbound endpoint / CLI"}</td>
                  <td>{m.is_default ? "Yes" : "No"}</td>
                  <td>{m.is_active ? "Yes" : "No"}</td>
                  <td>
                    {m.inbound !== "imap"
                      ? "—"
                      : m.imap_error
                        ? `Error: ${m.imap_error}`
                        : m.imap_checked_at
                          ? `Checked ${formatDateTime(m.imap_checked_at)}`
                          : "Not checked yet"}
                  </td>
                  <td className={styles.row}>
                    <button type="button" data-variant="secondary" aria-label={`Edit ${m.address}`} onClick={() => { setNotice(null); setEditing(m); }}>
                      Edit
                    </button>
                    <button
                      type="button"
                      data-variant="secondary"
                      aria-label={`Test connection of ${m.address}`}
                      disabled={test.isPending}
                      onClick={() => void runTest(m).catch(() => undefined)}
                    >
                      Test connection
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div aria-live="polite">
        {test.isPending && <p>Testing the connection…</p>}
        {test.isError && <ProblemMessage error={test.error} />}
        {tested && <ConnectionResult address={tested.address} outcome={tested.outcome} />}
      </div>
    </section>
  );
}
