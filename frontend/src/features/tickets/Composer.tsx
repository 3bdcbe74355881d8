import { type ChangeEvent, type FormEvent, forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import { useBlocker } from "react-router";
import { Dialog } from "../../components/Dialog";
import { ProblemMessage } from "../../components/ProblemMessage";
import { ApiError } from "../../lib/api/problem";
import { formatBytes } from "../../lib/format";
import { useShortcuts } from "../../lib/shortcuts";
import { type Names, describeEffect } from "../automation/model";
import { type Macro, useApplyMacro } from "../macros/api";
import { insertReply } from "../macros/filter";
import { MacroPicker } from "../macros/MacroPicker";
import macroStyles from "../macros/Macros.module.css";
import { type Message, discardDraft, saveDraft, useAddMessage, useDraft, useMessages } from "./api";
import { type Attachment, uploadAttachment } from "./upload";
import styles from "./Ticket.module.css";

interface Upload {
  key: string;
  file: File;
  progress: number;
  done?: Attachment;
  error?: ApiError;
}

/** Reply (or, for staff, internal note) with attachments uploaded first, with progress. */
const DRAFT_DELAY_MS = 800;

interface ComposerProps {
  ticketId: string;
  staff: boolean;
  disabled: boolean;
  /** Whether something is typed (for presence: "is replying…"). */
  onTyping?: (typing: boolean) => void;
  /** How to name a message's author in the collision question. */
  othersName?: (id: string | null) => string;
  me?: string;
  /** How to name people and teams in a macro's changes (staff). */
  names?: Names;
}

/** Messages by others (not internal notes) that were not there when the ticket was opened. */
export function newReplies(all: Message[], known: Set<string>, me: string | undefined): Message[] {
  return all.filter((m) => !known.has(m.id) && m.sender_id !== me && !m.is_internal && m.sender_type !== "system");
}

export const Composer = forwardRef<HTMLTextAreaElement, ComposerProps>(
  function Composer({ ticketId, staff, disabled, onTyping, othersName, me, names }, ref) {
    const add = useAddMessage(ticketId);
    const messages = useMessages(ticketId);
    // The messages there when the ticket was opened (or last answered): a reply by someone else
    // after that asks before ours is sent.
    const known = useRef<Set<string> | null>(null);
    const [collision, setCollision] = useState<Message[] | null>(null);
    // The server-side draft: restored once on arrival, autosaved while typing (debounced),
    // discarded on send. `saved` is what the server holds, as [text, internal].
    const draft = useDraft(ticketId, !disabled);
    const [restored, setRestored] = useState(false);
    const saved = useRef(JSON.stringify(["", false]));
    const [text, setText] = useState("");
    const [internal, setInternal] = useState(false);
    const [uploads, setUploads] = useState<Upload[]>([]);
    const [sent, setSent] = useState<string | null>(null);
    const uploading = uploads.some((u) => !u.done && !u.error);
    const applyMacro = useApplyMacro(ticketId);
    const [picking, setPicking] = useState(false);
    const [applied, setApplied] = useState<{ name: string; lines: string[] } | null>(null);
    useShortcuts(staff && !disabled ? { m: () => setPicking(true) } : {});

    async function pickMacro(macro: Macro) {
      setPicking(false);
      setApplied(null);
      const result = await applyMacro.mutateAsync(macro.id);
      setText((current) => insertReply(current, result.reply));
      const fallback: Names = { user: (id) => id ?? "nobody", team: (id) => id ?? "no team" };
      setApplied({ name: macro.name, lines: result.changes.map((c) => describeEffect(c, names ?? fallback)) });
      textRef.current?.focus();
    }
    const textRef = useRef<HTMLTextAreaElement>(null);
    useImperativeHandle(ref, () => textRef.current as HTMLTextAreaElement, []);
    const unsent = text.trim() !== "" || uploads.length > 0;
    const loaded = messages.data?.pages.flatMap((p) => p.data);
    useEffect(() => {
      if (known.current === null && loaded) known.current = new Set(loaded.map((m) => m.id));
    }, [loaded]);
    useEffect(() => onTyping?.(text.trim() !== ""), [text, onTyping]);
    useEffect(() => {
      if (restored || !(draft.isSuccess || draft.isError)) return;
      setRestored(true); // from now on, what is typed is saved (also what was typed before)
      const found = draft.data;
      if (!found || text !== "") return;
      saved.current = JSON.stringify([found.body, found.is_internal]);
      setText(found.body);
      setInternal(staff && found.is_internal);
      setSent("Your draft is restored.");
    }, [restored, draft.isSuccess, draft.isError, draft.data, text, staff]);
    useEffect(() => {
      if (!restored) return;
      const key = JSON.stringify([text, staff && internal]);
      if (key === saved.current) return;
      const timer = window.setTimeout(() => {
        saved.current = key;
        const save = text.trim() === "" ? discardDraft(ticketId) : saveDraft(ticketId, text, staff && internal);
        save.catch(() => {
          saved.current = ""; // not saved: try again with the next keystroke
        });
      }, DRAFT_DELAY_MS);
      return () => window.clearTimeout(timer);
    }, [restored, text, internal, staff, ticketId]);

    // Leaving with an unsent reply asks first: in the app (links, Back) and on reload or close.
    const blocker = useBlocker(({ currentLocation, nextLocation }) => unsent && currentLocation.pathname !== nextLocation.pathname);
    useEffect(() => {
      if (!unsent) return;
      const warn = (event: BeforeUnloadEvent) => {
        event.preventDefault();
        event.returnValue = "";
      };
      window.addEventListener("beforeunload", warn);
      return () => window.removeEventListener("beforeunload", warn);
    }, [unsent]);

    function patch(key: string, change: Partial<Upload>) {
      setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
    }

    function pick(event: ChangeEvent<HTMLInputElement>) {
      const files = Array.from(event.target.files ?? []);
      event.target.value = "";
      for (const file of files) {
        const key = `${file.name}-${file.size}-${Math.random().toString(36).slice(2)}`;
        setUploads((list) => [...list, { key, file, progress: 0 }]);
        uploadAttachment(file, (progress) => patch(key, { progress }))
          .then((done) => patch(key, { done }))
          .catch((error: unknown) =>
            patch(key, { error: error instanceof ApiError ? error : new ApiError(0, null) }),
          );
      }
    }

    function submit(event: FormEvent<HTMLFormElement>) {
      event.preventDefault();
      void send(false).catch(() => undefined);
    }

    async function send(anyway: boolean) {
      setSent(null);
      if (staff && !internal && !anyway && known.current) {
        const fresh = (await messages.refetch()).data?.pages.flatMap((p) => p.data) ?? [];
        const others = newReplies(fresh, known.current, me);
        if (others.length > 0) {
          setCollision(others);
          return;
        }
      }
      setCollision(null);
      const ids = uploads.flatMap((u) => (u.done ? [u.done.id] : []));
      const created = await add.mutateAsync({ message: text, is_internal: staff && internal, attachment_ids: ids });
      saved.current = JSON.stringify(["", false]); // sent: the draft goes
      void discardDraft(ticketId).catch(() => undefined);
      const seen = messages.data?.pages.flatMap((p) => p.data) ?? [];
      known.current = new Set([...seen.map((m) => m.id), created.id]);
      setSent(staff && internal ? "Internal note added." : "Reply sent.");
      setText("");
      setUploads([]);
      setInternal(false);
      textRef.current?.focus(); // the send button is disabled now: focus stays in the composer
    }

    return (
      <form className={`${styles.composer} ${internal ? styles.composerNote : ""}`} onSubmit={submit} aria-labelledby="composer-title">
        <h2 id="composer-title">{internal ? "Internal note" : "Reply"}</h2>
        <label htmlFor="composer-text">{internal ? "Note (only agents see it)" : "Message"}</label>
        <textarea
          id="composer-text"
          ref={textRef}
          rows={5}
          value={text}
          onChange={(e) => setText(e.target.value)}
          maxLength={100000}
          required
          disabled={disabled}
        />
        {staff && (
          <label className={styles.check}>
            <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} disabled={disabled} />
            Internal note (hidden from the customer)
          </label>
        )}
        <label htmlFor="composer-files">Attach files</label>
        <input id="composer-files" type="file" multiple onChange={pick} disabled={disabled} />
        {uploads.length > 0 && (
          <ul className={styles.files} aria-label="Files to send">
            {uploads.map((u) => (
              <li key={u.key}>
                {u.file.name} <span className={styles.muted}>({formatBytes(u.file.size)})</span>{" "}
                {u.error ? (
                  <span role="alert" className={styles.error}>
                    Not attached: {u.error.detail}
                    {u.error.requestId ? ` (request id ${u.error.requestId})` : ""}
                  </span>
                ) : u.done ? (
                  <span>uploaded</span>
                ) : (
                  <progress max={100} value={u.progress} aria-label={`Uploading ${u.file.name}`} />
                )}{" "}
                <button type="button" data-variant="secondary" onClick={() => setUploads((l) => l.filter((x) => x.key !== u.key))}>
                  Remove {u.file.name}
                </button>
              </li>
            ))}
          </ul>
        )}
        {add.isError && <ProblemMessage error={add.error} />}
        {blocker.state === "blocked" && (
          <Dialog
            title={internal ? "Discard your note?" : "Discard your reply?"}
            confirm="Discard and leave"
            cancel="Keep writing"
            danger
            onConfirm={() => {
              saved.current = JSON.stringify(["", false]);
              void discardDraft(ticketId).catch(() => undefined);
              blocker.proceed();
            }}
            onCancel={() => blocker.reset()}
          >
            <p>It has not been sent. Leaving this page discards it, and its saved draft.</p>
          </Dialog>
        )}
        {collision && (
          <Dialog
            title="Someone replied meanwhile"
            confirm="Send anyway"
            cancel="Read it first"
            onConfirm={() => {
              setCollision(null);
              void send(true).catch(() => undefined);
            }}
            onCancel={() => {
              known.current = new Set([...(known.current ?? []), ...collision.map((m) => m.id)]);
              setCollision(null);
            }}
          >
            <p>
              {Array.from(new Set(collision.map((m) => othersName?.(m.sender_id ?? null) ?? "Someone"))).join(", ")}{" "}
              replied since you opened this ticket. Your reply is not sent yet.
            </p>
          </Dialog>
        )}
        {sent && <p role="status">{sent}</p>}
        {picking && <MacroPicker onPick={(m) => void pickMacro(m).catch(() => undefined)} onClose={() => setPicking(false)} />}
        {applyMacro.isError && <ProblemMessage error={applyMacro.error} />}
        <div role="status" className={applied ? macroStyles.applied : undefined}>
          {applied && (
            <>
              Macro “{applied.name}” applied: its reply is in the message box for you to review before sending.{" "}
              {applied.lines.length ? "It changed the ticket:" : "It changed nothing on the ticket."}
              {applied.lines.length > 0 && (
                <ul aria-label="Changes made by the macro">
                  {applied.lines.map((line, i) => (
                    <li key={i}>{line}</li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
        <div className={styles.actions}>
          <button type="submit" disabled={disabled || uploading || add.isPending || !text.trim()}>
            {add.isPending ? "Sending…" : internal ? "Add internal note" : "Send reply"}
          </button>
          {staff && (
            <button type="button" data-variant="secondary" disabled={disabled || applyMacro.isPending} onClick={() => setPicking(true)}>
              {applyMacro.isPending ? "Applying macro…" : "Insert macro (m)"}
            </button>
          )}
        </div>
      </form>
    );
  },
);
