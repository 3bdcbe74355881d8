import { type FormEvent, useState } from "react";
import { Dialog } from "../../components/Dialog";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { useDocumentTitle } from "../../lib/title";
import { useStaff } from "../users/api";
import styles from "../users/Admin.module.css";
import { type Team, useCreateTeam, useDeleteTeam, useTeams, useUpdateTeam } from "./api";

/** Admins: create teams, rename them, choose their members (agents and admins), delete them. */
export function TeamsPage() {
  useDocumentTitle("Teams");
  const teams = useTeams();
  const create = useCreateTeam();
  const [notice, setNotice] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const team = await create.mutateAsync({
      name: String(data.get("name") ?? "").trim(),
      description: String(data.get("description") ?? ""),
    });
    setNotice(`Created team ${team.name}. Choose its members below.`);
    form.reset();
  }

  return (
    <section aria-labelledby="teams-title">
      <h1 id="teams-title">Teams</h1>
      <form className={styles.card} aria-labelledby="create-team-title" onSubmit={(e) => void submit(e).catch(() => undefined)}>
        <h2 id="create-team-title">Create a team</h2>
        <div className={styles.grid}>
          <label htmlFor="team-name">Name</label>
          <input id="team-name" name="name" required maxLength={100} />
          <label htmlFor="team-description">Description</label>
          <input id="team-description" name="description" maxLength={2000} />
        </div>
        {create.isError && <ProblemMessage error={create.error} />}
        <p role="status">{notice}</p>
        <div>
          <button type="submit" disabled={create.isPending}>
            Create team
          </button>
        </div>
      </form>
      {teams.isPending ? (
        <Loading label="Loading teams" />
      ) : teams.isError ? (
        <ProblemMessage error={teams.error} retry={() => void teams.refetch()} />
      ) : teams.data.length === 0 ? (
        <EmptyState title="No teams yet">Create one above; tickets, rules and the inbox can then use it.</EmptyState>
      ) : (
        teams.data.map((team) => <TeamCard key={team.id} team={team} />)
      )}
    </section>
  );
}

function TeamCard({ team }: { team: Team }) {
  const staff = useStaff(true);
  const update = useUpdateTeam();
  const remove = useDeleteTeam();
  const [members, setMembers] = useState<Set<string>>(() => new Set(team.member_ids));
  const [name, setName] = useState(team.name);
  const [description, setDescription] = useState(team.description);
  const [confirm, setConfirm] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const titleId = `team-${team.id}-title`;
  const dirty =
    name !== team.name ||
    description !== team.description ||
    members.size !== team.member_ids.length ||
    team.member_ids.some((m) => !members.has(m));

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    await update.mutateAsync({
      id: team.id,
      body: { name: name.trim(), description, member_ids: [...members] },
    });
    setSaved(`Saved ${name.trim()}.`);
  }

  return (
    <form className={styles.card} aria-labelledby={titleId} onSubmit={(e) => void save(e).catch(() => undefined)}>
      <h2 id={titleId}>{team.name}</h2>
      <div className={styles.grid}>
        <label htmlFor={`${team.id}-name`}>Name of {team.name}</label>
        <input id={`${team.id}-name`} value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
        <label htmlFor={`${team.id}-description`}>Description of {team.name}</label>
        <input id={`${team.id}-description`} value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <fieldset className={styles.scopes}>
        <legend>Members of {team.name}</legend>
        {staff.isPending && <Loading label="Loading agents" />}
        {staff.data?.map((u) => (
          <label key={u.id}>
            <input
              type="checkbox"
              checked={members.has(u.id)}
              onChange={() =>
                setMembers((m) => {
                  const next = new Set(m);
                  if (next.has(u.id)) next.delete(u.id);
                  else next.add(u.id);
                  return next;
                })
              }
            />{" "}
            {u.name} <span className="visually-hidden">({u.email})</span>
          </label>
        ))}
      </fieldset>
      {update.isError && <ProblemMessage error={update.error} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
      <p role="status">{saved}</p>
      <div>
        <button type="submit" disabled={!dirty || update.isPending}>
          Save {team.name}
        </button>{" "}
        <button type="button" data-variant="secondary" onClick={() => setConfirm(true)}>
          Delete {team.name}
        </button>
      </div>
      {confirm && (
        <Dialog
          title={`Delete team ${team.name}?`}
          confirm="Delete team"
          danger
          onConfirm={() => {
            setConfirm(false);
            remove.mutate(team.id);
          }}
          onCancel={() => setConfirm(false)}
        >
          <p>Tickets must be moved to another team first; rules that route to it stop working.</p>
        </Dialog>
      )}
    </form>
  );
}
