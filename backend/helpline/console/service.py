"""The console bootstrap: the caller, teams, the staff directory and saved views in one
transaction, each section as its own domain's service gives it to these credentials."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.account import service as account_service
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.console.schemas import MAX_STAFF, ConsoleRead, StaffMember
from helpline.kit.rows import AnyRow
from helpline.team import service as team_service
from helpline.team.schemas import TeamRead
from helpline.user import service as user_service
from helpline.view import service as view_service
from helpline.view.schemas import ViewRead


async def bootstrap(session: AsyncSession, principal: Principal) -> ConsoleRead:
    """Everything a console page needs once: staff get all of it, customers only themselves
    (teams, the staff directory and saved views are staff data). Four statements for staff,
    one for a customer."""
    me = await account_service.describe_me(session, principal)
    staff_reader = principal.is_staff and principal.has(Scope.tickets_read)
    teams = await team_service.list_teams(session, principal) if staff_reader else []
    views = await view_service.list_views(session, principal) if staff_reader else []
    directory: list[AnyRow] = []
    more = False
    if principal.is_staff and principal.has(Scope.users_read):
        directory, more = await user_service.staff_directory(session, principal, MAX_STAFF)
    return ConsoleRead(
        me=me,
        teams=[TeamRead.model_validate(t) for t in teams],
        staff=[StaffMember.model_validate(u) for u in directory],
        staff_complete=not more,
        views=[ViewRead.model_validate(v) for v in views],
    )
