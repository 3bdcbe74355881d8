import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";

export type User = components["schemas"]["UserRead"];
export type Role = components["schemas"]["Role"];

/** Every active agent and admin, page by page (bounded: staff lists are small). */
async function allStaff(): Promise<User[]> {
  const users: User[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const result: { data: User[]; meta: { next_cursor?: string | null; has_more: boolean } } = await unwrap(
      api.GET("/api/v1/users", {
        params: { query: { staff: true, is_active: true, limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    );
    users.push(...result.data);
    if (!result.meta.has_more || !result.meta.next_cursor) break;
    cursor = result.meta.next_cursor;
  }
  return users;
}

/** Agents and admins (assignee choices and names), one request; agents and admins may read users. */
export function useStaff(enabled: boolean) {
  return useQuery({
    queryKey: ["users", "staff"],
    enabled,
    staleTime: 5 * 60_000,
    queryFn: async () => (await allStaff()).sort((a, b) => a.name.localeCompare(b.name)),
  });
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
    onSuccess: () => client.invalidateQueries({ queryKey: ["users"] }),
  });
}

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: components["schemas"]["UserUpdate"] }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["users"] }),
  });
}

export function useDeactivateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["users"] }),
  });
}

export function nameOf(users: User[] | undefined, id: string | null | undefined): string {
  if (!id) return "Unassigned";
  return users?.find((u) => u.id === id)?.name ?? "Someone";
}
