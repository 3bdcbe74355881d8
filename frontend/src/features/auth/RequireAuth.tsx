import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { onUnauthorized } from "../../lib/api/client";
import { setCsrfToken } from "../../lib/csrf";
import { meKey, useMe } from "./api";

/** Pages behind sign-in: without a session, go to /login and come back here afterwards. */
export function RequireAuth() {
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const here = location.pathname + location.search;

  useEffect(
    () =>
      onUnauthorized(() => {
        // Only a session we had can expire; without one, the redirect below applies.
        if (!client.getQueryData(meKey)) return;
        // The session expired (or was ended elsewhere): sign in again, then come back.
        setCsrfToken(null);
        client.clear();
        client.setQueryData(meKey, null);
        navigate(`/login?expired=1&next=${encodeURIComponent(here)}`, { replace: true });
      }),
    [client, navigate, here],
  );

  if (me.isPending) return <Loading label="Checking your session" />;
  if (me.isError) return <ProblemMessage error={me.error} retry={() => void me.refetch()} />;
  if (!me.data) return <Navigate to={`/login?next=${encodeURIComponent(here)}`} replace />;
  return <Outlet />;
}
