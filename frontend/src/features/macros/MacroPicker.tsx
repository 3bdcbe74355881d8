import { type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { type Macro, useMacros } from "./api";
import { filterMacros } from "./filter";
import ui from "../../components/ui.module.css";
import styles from "./Macros.module.css";

interface Props {
  onPick: (macro: Macro) => void;
  onClose: () => void;
}

/** A modal list of macros: type to filter, arrows to move, Enter to apply, Escape to close. */
export function MacroPicker({ onPick, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const macros = useMacros();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const id = useId();
  const shown = filterMacros(macros.data ?? [], query);
  const current = shown[Math.min(active, shown.length - 1)];

  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => opener?.focus();
  }, []);
  useEffect(() => setActive(0), [query]);

  function onKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((i) => (shown.length ? (i + step + shown.length) % shown.length : 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (current) onPick(current);
    }
  }

  return createPortal(
    <dialog
      ref={ref}
      className={`${ui.dialog} ${styles.picker}`}
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id={`${id}-title`}>Insert a macro</h2>
      <label htmlFor={`${id}-q`}>Find a macro</label>
      <input
        id={`${id}-q`}
        role="combobox"
        aria-expanded="true"
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={current ? `${id}-${current.id}` : undefined}
        autoComplete="off"
        autoFocus
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={onKey}
      />
      {macros.isPending && <Loading label="Loading macros" />}
      {macros.isError && <ProblemMessage error={macros.error} />}
      <ul id={`${id}-list`} role="listbox" aria-label="Macros" className={styles.options}>
        {shown.map((m) => (
          <li
            key={m.id}
            id={`${id}-${m.id}`}
            role="option"
            aria-selected={m.id === current?.id}
            className={m.id === current?.id ? styles.active : undefined}
            onClick={() => onPick(m)}
          >
            <strong>{m.name}</strong> {m.owner_id === null && <span className={styles.muted}>(shared)</span>}
            <span className={styles.preview}>{m.body.split("\n")[0]}</span>
          </li>
        ))}
      </ul>
      {macros.isSuccess && shown.length === 0 && (
        <p role="status">{macros.data.length === 0 ? "No macros yet: create them on the Macros page." : "No macro matches."}</p>
      )}
      <p className={styles.muted}>
        <kbd>↑</kbd>/<kbd>↓</kbd> choose, <kbd>Enter</kbd> apply, <kbd>Esc</kbd> close.
      </p>
      <button type="button" data-variant="secondary" onClick={onClose}>
        Cancel
      </button>
    </dialog>,
    document.body,
  );
}
