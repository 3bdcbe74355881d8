import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { type Console, refreshConsole, useConsole } from "../console/api";

export type Team = components["schemas"]["TeamRead"];

const selectTeams = (data: Console | null): Team[] =>
  [...(data?.teams ?? [])].sort((a, b) => a.name.localeCompare(b.name));

/** Every team with its members (staff read them), from the console bootstrap. */
export function useTeams(enabled = true) {
  return useConsole(selectTeams, enabled);
}

export function teamName(teams: Team[] | undefined, id: string | null | undefined): string | null {
  if (!id) return null;
  return teams?.find((t) => t.id === id)?.name ?? "A team";
}

/** The teams `userId` is a member of (the inbox's "My teams"). */
export function teamsOf(teams: Team[] | undefined, userId: string | null | undefined): Team[] {
  if (!userId) return [];
  return (teams ?? []).filter((t) => t.member_ids.includes(userId));
}

export function useCreateTeam() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: components["schemas"]["TeamCreate"]) => unwrap(api.POST("/api/v1/teams", { body })),
    onSuccess: () => refreshConsole(client),
  });
}

export function useUpdateTeam() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: components["schemas"]["TeamUpdate"] }) =>
      unwrap(api.PATCH("/api/v1/teams/{team_id}", { params: { path: { team_id: id } }, body })),
    onSuccess: () => refreshConsole(client),
  });
}

export function useDeleteTeam() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/teams/{team_id}", { params: { path: { team_id: id } } })),
    onSuccess: () => refreshConsole(client),
  });
}
