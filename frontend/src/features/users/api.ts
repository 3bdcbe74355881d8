import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { type Console, refreshConsole, useConsole } from "../console/api";

export type User = components["schemas"]["UserRead"];
export type Role = components["schemas"]["Role"];
/** An active agent or admin as the console's directory has them (names, assignee choices). */
export type StaffMember = components["schemas"]["StaffMember"];

const selectStaff = (data: Console | null): StaffMember[] =>
  [...(data?.staff ?? [])].sort((a, b) => a.name.localeCompare(b.name));

/** Agents and admins (assignee choices and names), from the console bootstrap. */
export function useStaff(enabled: boolean) {
  return useConsole(selectStaff, enabled);
}

export function useUser(id: string | null | undefined, enabled = true) {
  return useQuery({
    queryKey: ["users", id],
    enabled: Boolean(id) && enabled,
    staleTime: 5 * 60_000,
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id ?? "" } } })),
  });
}

export interface UserListFilters {
  role: Role | null;
  email: string;
}

export function useUserList(filters: UserListFilters, cursor: string | null) {
  return useQuery({
    queryKey: ["users", "list", filters, cursor],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/users", {
          params: {
            query: {
              limit: 50,
              ...(filters.role ? { role: filters.role } : {}),
              ...(filters.email.trim().length >= 3 ? { email: filters.email.trim() } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
  });
}

export function useCreateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: components["schemas"]["UserCreate"]) =>
      unwrap(api.POST("/api/v1/users", { body })),
    // the console directory names staff (and holds me): read it again too
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: ["users"] }), refreshConsole(client)]),
  });
}

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: components["schemas"]["UserUpdate"] }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    // the console directory names staff (and holds me): read it again too
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: ["users"] }), refreshConsole(client)]),
  });
}

export function useDeactivateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
    // the console directory names staff (and holds me): read it again too
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: ["users"] }), refreshConsole(client)]),
  });
}

export function nameOf(users: { id: string; name: string }[] | undefined, id: string | null | undefined): string {
  if (!id) return "Unassigned";
  return users?.find((u) => u.id === id)?.name ?? "Someone";
}
