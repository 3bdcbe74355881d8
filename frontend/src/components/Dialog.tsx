import { type FormEvent, type ReactNode, useEffect, useId, useRef } from "react";
import { createPortal } from "react-dom";
import styles from "./ui.module.css";

interface Props {
  title: string;
  children?: ReactNode;
  /** The confirming button's text, e.g. "Close ticket". */
  confirm: string;
  /** The cancelling button's text; null for a dialog that only informs (Escape still closes). */
  cancel?: string | null;
  danger?: boolean;
  onConfirm: (data: FormData) => void;
  onCancel: () => void;
}

/**
 * A modal question (the native <dialog>: focus is trapped inside, Escape cancels, focus returns
 * to where it was). Its fields, if any, are given to `onConfirm` as FormData.
 */
export function Dialog({ title, children, confirm, cancel = "Cancel", danger, onConfirm, onCancel }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const safeFirst = useRef(danger);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    // For an irreversible action, a stray Enter must not confirm it: start on Cancel.
    if (safeFirst.current) cancelRef.current?.focus();
    return () => {
      dialog?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    event.stopPropagation(); // React events bubble through portals: never submit an outer form
    onConfirm(new FormData(event.currentTarget));
  }

  // In <body>, not inside the page's own form (a <form> must not hold another).
  return createPortal(
    <dialog
      ref={ref}
      className={styles.dialog}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <form method="dialog" onSubmit={submit}>
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className={styles.dialogActions}>
          <button type="submit" data-variant={danger ? "danger" : undefined}>
            {confirm}
          </button>
          {cancel !== null && (
            <button ref={cancelRef} type="button" data-variant="secondary" onClick={onCancel}>
              {cancel}
            </button>
          )}
        </div>
      </form>
    </dialog>,
    document.body,
  );
}
