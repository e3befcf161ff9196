"""Dashboard: the state of reports, meetings, volunteer hours and delivery at a glance."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from console import stats
from console.access import READ, allow, chosen_community, communities, grids
from console.web import config, db, int_arg, now
from domain.reports.categories import categories

bp = Blueprint("dashboard", __name__, url_prefix="/console")


@bp.get("/")
@login_required
def home():
    if current_user.role == "grid_worker":
        return redirect(url_for("reports.index"))
    return redirect(url_for("dashboard.show"))


@bp.get("/dashboard")
@allow(*READ)
def show():
    community_id = chosen_community(request.args.get("community"))
    grid_id = int_arg("grid")
    if grid_id and grid_id not in {g.id for g in grids(community_id)}:
        grid_id = None
    period = request.args.get("period", "30")
    moment = now()
    figures = stats.dashboard(db(), community_id=community_id, grid_id=grid_id,
                              since=stats.since(period, moment), now=moment, tz=config().tz)
    names = {c.code: c.name for c in categories(config())}
    figures["by_category"] = {names.get(k, k): v for k, v in figures["by_category"].items()}
    return render_template("console/dashboard.html", figures=figures, period=period,
                           periods=stats.PERIODS, community_id=community_id, grid_id=grid_id,
                           communities=communities(), grids=grids(community_id))
