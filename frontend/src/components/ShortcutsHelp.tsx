import { Dialog } from "./Dialog";

export interface Shortcut {
  keys: string[];
  what: string;
}

/** The `?` overlay: the page's keyboard shortcuts. */
export function ShortcutsHelp({ shortcuts, onClose }: { shortcuts: Shortcut[]; onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" confirm="Close" cancel={null} onConfirm={onClose} onCancel={onClose}>
      <dl>
        {shortcuts.map((s) => (
          <div key={s.what}>
            <dt>
              {s.keys.map((k, i) => (
                <span key={k}>
                  {i > 0 && " or "}
                  <kbd>{k}</kbd>
                </span>
              ))}
            </dt>
            <dd>{s.what}</dd>
          </div>
        ))}
      </dl>
      <p>Shortcuts do nothing while you type in a field.</p>
    </Dialog>
  );
}
